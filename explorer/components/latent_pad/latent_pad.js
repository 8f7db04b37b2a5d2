// The live latent pad: one range input per shown latent dim and the decoded image on a canvas.
// mlp_decode.js is prepended to this file (loadMlpDecoder, mlpDecode).
//
// data (from Python, see latent_pad.py): model_key, mode ("browser" | "server"), dims, z, z_version,
//   image_shape [C, H, W], scale, decoder (export_mlp_decoder's dict, only when this page may lack it),
//   image ({seq, pixels: base64 uint8 [H, W, C]} in server mode), ack (last z seq the server has), live.
// state (to Python): "z" = {values, seq, final}; "need_weights" = {key, n} when weights are missing.
//
// Streamlit calls the default export again whenever data changes, and runs no cleanup in between,
// so one pad per parent element is built once and then only updated.

const LIMIT = 3;
const MAX_TIMINGS = 5000;
const STALE_MS = 3000; // an unanswered message is given up after this long
const pads = new WeakMap();
const decoders = window.__latentPadDecoders || (window.__latentPadDecoders = new Map());
// Per drawn picture, ms from input event to the rAF after the draw; roundTrip: ms from z sent to data back.
const timings = window.__latentPadTimings || (window.__latentPadTimings = { browser: [], server: [], roundTrip: [] });

function record(path, ms) {
  const list = timings[path];
  list.push(ms);
  if (list.length > MAX_TIMINGS) list.splice(0, list.length - MAX_TIMINGS);
}

function rememberDecoder(key, decoder) {
  decoders.set(key, decoder);
  while (decoders.size > 3) decoders.delete(decoders.keys().next().value);
}

function createPad(parent) {
  const root = parent.querySelector(".latent-pad");
  const pad = {
    root,
    sliders: root.querySelector(".latent-pad-sliders"),
    canvas: root.querySelector(".latent-pad-canvas"),
    caption: root.querySelector(".latent-pad-caption"),
    small: document.createElement("canvas"),
    modelKey: null, dimsKey: null, zVersion: null, mode: null, live: false,
    z: [], imageShape: [1, 1, 1], scale: 1, decoder: null,
    seq: 0, inflight: null, dirtySince: null, raf: 0, lastPixels: null, drawn: 0,
    setStateValue: () => {}, weightsAsked: 0,
  };
  root.__latentPad = pad; // for tests and the benchmark
  return pad;
}

// ---- drawing -------------------------------------------------------------------------------

function draw(pad, rgba, t0, path) {
  const [, h, w] = pad.imageShape;
  if (pad.small.width !== w || pad.small.height !== h) { pad.small.width = w; pad.small.height = h; }
  pad.small.getContext("2d").putImageData(new ImageData(rgba, w, h), 0, 0);
  const ctx = pad.canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(pad.small, 0, 0, pad.canvas.width, pad.canvas.height);
  pad.drawn += 1;
  pad.root.dataset.drawn = String(pad.drawn);
  if (window.__latentPadFirstImage === undefined) window.__latentPadFirstImage = performance.now();
  if (t0 !== null && t0 !== undefined) requestAnimationFrame(() => record(path, performance.now() - t0));
}

// Mean image [C·H·W] in [0, 1] -> RGBA bytes, rounded as vae_core's to_uint8 does.
function floatToRgba(values, [c, h, w]) {
  const n = h * w, rgba = new Uint8ClampedArray(4 * n);
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < 3; k++) rgba[4 * p + k] = Math.round(values[(c === 3 ? k : 0) * n + p] * 255);
    rgba[4 * p + 3] = 255;
  }
  return rgba;
}

// Server pixels: base64 uint8 [H, W, C] -> RGBA bytes.
function bytesToRgba(b64, [c, h, w]) {
  const bin = atob(b64), n = h * w, rgba = new Uint8ClampedArray(4 * n);
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < 3; k++) rgba[4 * p + k] = bin.charCodeAt(p * c + (c === 3 ? k : 0));
    rgba[4 * p + 3] = 255;
  }
  return rgba;
}

function decodeAndDraw(pad, t0) {
  if (!pad.decoder) return false;
  draw(pad, floatToRgba(mlpDecode(pad.decoder, pad.z), pad.imageShape), t0, "browser");
  return true;
}

// ---- messages to the server: at most one per animation frame and one in flight, latest wins --

function send(pad, final) {
  pad.seq += 1;
  pad.inflight = { seq: pad.seq, t0: pad.dirtySince ?? performance.now(), sent: performance.now() };
  pad.dirtySince = null;
  pad.setStateValue("z", { values: pad.z.slice(), seq: pad.seq, final });
}

function scheduleSend(pad) {
  if (pad.raf) return;
  pad.raf = requestAnimationFrame(() => {
    pad.raf = 0;
    if (pad.dirtySince === null) return;
    // The answer sends the latest z. An answer later than STALE_MS is given up on at the next input,
    // never resent on a timer: on a busy server a timed resend of a release reruns the whole page again.
    if (pad.inflight && performance.now() - pad.inflight.sent < STALE_MS) return;
    send(pad, false);
  });
}

function onInput(pad, dim, input, output, event) {
  const value = Number(input.value);
  pad.z[dim] = value;
  output.value = value.toFixed(2);
  const t0 = event.timeStamp;
  if (pad.mode === "browser") decodeAndDraw(pad, t0);
  if (pad.mode === "server" || pad.live) {
    if (pad.dirtySince === null) pad.dirtySince = t0;
    scheduleSend(pad);
  }
}

function onRelease(pad) {
  if (pad.raf) { cancelAnimationFrame(pad.raf); pad.raf = 0; }
  if (pad.mode === "server" && pad.dirtySince === null && pad.inflight === null) {
    pad.dirtySince = performance.now();
  }
  send(pad, true);
}

// ---- building and updating from data ----------------------------------------------------------

function buildSliders(pad, dims) {
  pad.sliders.replaceChildren();
  pad.sliders.style.setProperty("--latent-pad-columns", dims.length > 4 ? "2" : "1");
  for (const dim of dims) {
    const row = document.createElement("div");
    row.className = "latent-pad-slider";
    const id = `latent-pad-${Math.random().toString(36).slice(2)}-z${dim}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = `z_${dim}`;
    const input = document.createElement("input");
    Object.assign(input, { type: "range", id, min: -LIMIT, max: LIMIT, step: 0.01 });
    input.dataset.dim = String(dim);
    input.setAttribute("aria-label", `z_${dim}`);
    const output = document.createElement("output");
    output.htmlFor = id;
    input.addEventListener("input", (event) => onInput(pad, dim, input, output, event));
    input.addEventListener("change", () => onRelease(pad));
    row.append(label, input, output);
    pad.sliders.append(row);
  }
}

function showZ(pad) {
  for (const input of pad.sliders.querySelectorAll("input[type=range]")) {
    const value = pad.z[Number(input.dataset.dim)];
    input.value = String(value);
    input.nextElementSibling.value = value.toFixed(2);
  }
}

function update(pad, data) {
  // A pad mounted again (page switch) continues the session's numbering, so old acks answer nothing.
  if (pad.modelKey === null) pad.seq = Math.max(pad.seq, data.ack ?? 0);
  const modelChanged = data.model_key !== pad.modelKey;
  const dimsKey = data.dims.join(",");
  pad.mode = data.mode;
  pad.live = Boolean(data.live);
  pad.imageShape = data.image_shape;
  pad.scale = data.scale;
  const [, h, w] = data.image_shape;
  if (pad.canvas.width !== w * data.scale || pad.canvas.height !== h * data.scale) {
    pad.canvas.width = w * data.scale;
    pad.canvas.height = h * data.scale;
    pad.lastPixels = null;
  }
  if (modelChanged || dimsKey !== pad.dimsKey) buildSliders(pad, data.dims);
  const zChanged = modelChanged || data.z_version !== pad.zVersion;
  if (zChanged) {
    // The server moved z (a button, another model): it wins over the local values.
    pad.z = data.z.map(Number);
    pad.zVersion = data.z_version;
    pad.dirtySince = null;
  }
  if (modelChanged || dimsKey !== pad.dimsKey) showZ(pad);
  else if (zChanged) showZ(pad);
  pad.dimsKey = dimsKey;
  pad.modelKey = data.model_key;
  pad.root.dataset.mode = data.mode;
  pad.root.dataset.modelKey = data.model_key;

  if (pad.inflight && (data.ack ?? -1) >= pad.inflight.seq) {
    const { t0, sent } = pad.inflight;
    pad.inflight = null;
    record("roundTrip", performance.now() - sent);
    if (pad.mode === "server" && data.image) {
      draw(pad, bytesToRgba(data.image.pixels, data.image_shape), t0, "server");
      pad.lastPixels = data.image.pixels;
    }
    if (pad.dirtySince !== null) scheduleSend(pad);
  }

  if (pad.mode === "browser") {
    pad.caption.textContent = "decoder mean E[x | z], decoded in this browser as you drag";
    if (data.decoder) {
      const decoder = loadMlpDecoder(data.decoder);
      rememberDecoder(data.model_key, decoder);
    }
    const cached = decoders.get(data.model_key) || null;
    const needsDraw = cached !== pad.decoder || zChanged || pad.drawn === 0;
    pad.decoder = cached;
    if (!pad.decoder) {
      // This page never got the weights (or dropped them): ask once per second at most.
      if (performance.now() - pad.weightsAsked > 1000) {
        pad.weightsAsked = performance.now();
        pad.setStateValue("need_weights", { key: data.model_key, n: pad.weightsAsked });
      }
    } else if (needsDraw) {
      decodeAndDraw(pad, null);
    }
  } else {
    pad.decoder = null;
    pad.caption.textContent = "decoder mean E[x | z], decoded on the server as you drag";
    if (data.image && data.image.pixels !== pad.lastPixels && (!pad.inflight || zChanged)) {
      draw(pad, bytesToRgba(data.image.pixels, data.image_shape), null, "server");
      pad.lastPixels = data.image.pixels;
    }
  }
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let pad = pads.get(parentElement);
  if (!pad || !pad.root.isConnected) {
    pad = createPad(parentElement);
    pads.set(parentElement, pad);
  }
  pad.setStateValue = setStateValue;
  if (data) update(pad, data);
}
