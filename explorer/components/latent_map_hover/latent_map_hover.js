// Latent map with hover-to-decode: a canvas scatter (legend, wheel zoom, drag pan) and a preview of the
// image under the cursor. Preview kinds: "mlp" (decode in the browser with mlpDecode, prepended from
// latent_pad/mlp_decode.js), "grid" (nearest cell of a server-decoded grid), "nearest" (nearest point's
// image). A click pins the point and sends it to the server as the state "pinned". With a grid, the
// visible part of the plane is sent as the state "view_box" after each zoom or pan, and the server
// answers with a grid decoded over it, so zooming in gives finer previews.

const PAD = { left: 52, right: 10, top: 10, bottom: 40 };
const POINT_RADIUS = 2.6;
const INSTANCES = new WeakMap(); // root element -> instance state, kept across reruns
// Per hover preview drawn, ms from the pointer event to the frame that shows it (benchmarks read it).
const HOVER_TIMINGS = window.__latentMapHoverTimings || (window.__latentMapHoverTimings = []);
const VIEW_REPORT_MS = 250; // a zoom or pan that has been still this long asks for a grid over the view

function bytesFromBase64(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function int32FromBase64(b64) {
  const bytes = bytesFromBase64(b64);
  const view = new DataView(bytes.buffer);
  const out = new Int32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(4 * i, true);
  return out;
}

function niceStep(span, target) {
  const raw = span / target;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

function fmt(v) {
  return (v >= 0 ? "+" : "") + v.toFixed(2);
}

// ---- loading the data ---------------------------------------------------------------------------

function loadData(inst, data) {
  const n = data.n;
  inst.points = latentPadFloat32FromBase64(data.points);
  inst.labels = int32FromBase64(data.labels);
  inst.index = int32FromBase64(data.index);
  inst.n = n;
  inst.classes = data.classes;
  inst.axisTitles = data.axis_titles;
  inst.ranges = data.ranges;
  inst.ellipses = data.ellipses ? latentPadFloat32FromBase64(data.ellipses) : null;
  inst.ellipsePoints = data.ellipse_points;
  inst.priorRadii = data.prior_radii || [];
  inst.manifold = null;
  if (data.manifold_png) {
    const img = new Image();
    img.onload = () => { inst.manifold = { img, box: data.manifold_box }; drawMap(inst); };
    img.src = "data:image/png;base64," + data.manifold_png;
  }
  const p = data.preview;
  inst.preview = { kind: p.kind, shape: p.shape };
  if (p.kind === "mlp") {
    inst.preview.decoder = loadMlpDecoder(p.decoder);
    inst.preview.dims = p.dims;
    inst.preview.z = Float64Array.from(p.base_z);
  } else {
    inst.preview.atlas = bytesFromBase64(p.atlas);
    if (p.kind === "grid") { inst.preview.xs = p.xs; inst.preview.ys = p.ys; }
  }
  inst.note.textContent = data.hover_text || "";
  inst.dataId = data.data_id;
  inst.root.dataset.gridBox = p.kind === "grid" ? JSON.stringify([p.xs[0], p.xs[p.xs.length - 1], p.ys[0], p.ys[p.ys.length - 1]]) : "";
  buildLegend(inst);
}

function buildLegend(inst) {
  const legend = inst.legend;
  legend.textContent = "";
  const caption = document.createElement("span");
  caption.className = "caption";
  caption.textContent = "class (click to hide):";
  legend.appendChild(caption);
  const present = new Set(inst.labels);
  inst.classes.forEach((c, k) => {
    if (!present.has(k)) return;
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.label = String(k);
    if (inst.hidden.has(k)) b.classList.add("hidden");
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = c.colour;
    b.appendChild(sw);
    b.appendChild(document.createTextNode(c.name));
    b.addEventListener("click", () => {
      if (inst.hidden.has(k)) inst.hidden.delete(k); else inst.hidden.add(k);
      b.classList.toggle("hidden", inst.hidden.has(k));
      drawMap(inst);
    });
    legend.appendChild(b);
  });
}

// ---- geometry ------------------------------------------------------------------------------------

function plotBox(inst) {
  return { l: PAD.left, t: PAD.top, w: inst.width - PAD.left - PAD.right, h: inst.height - PAD.top - PAD.bottom };
}

function fitView(inst) {
  const [[x0, x1], [y0, y1]] = inst.ranges;
  const box = plotBox(inst);
  const s = Math.min(box.w / Math.max(x1 - x0, 1e-9), box.h / Math.max(y1 - y0, 1e-9));
  inst.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, s };
}

function toPx(inst, x, y) {
  const box = plotBox(inst), v = inst.view;
  return [box.l + box.w / 2 + (x - v.cx) * v.s, box.t + box.h / 2 - (y - v.cy) * v.s];
}

function toData(inst, px, py) {
  const box = plotBox(inst), v = inst.view;
  return [v.cx + (px - box.l - box.w / 2) / v.s, v.cy - (py - box.t - box.h / 2) / v.s];
}

function eventPos(inst, e) {
  const r = inst.overlay.getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
}

function insidePlot(inst, px, py) {
  const b = plotBox(inst);
  return px >= b.l && px <= b.l + b.w && py >= b.t && py <= b.t + b.h;
}

// ---- drawing -------------------------------------------------------------------------------------

function resize(inst) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(200, Math.round(inst.stack.clientWidth || 600));
  const h = Math.max(200, Math.round(inst.stack.clientHeight || 560));
  if (w === inst.width && h === inst.height) return false;
  const hadView = inst.view && inst.width;
  inst.width = w; inst.height = h;
  for (const c of [inst.map, inst.overlay]) {
    c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
    c.getContext("2d").setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  if (!hadView) fitView(inst);
  return true;
}

function drawAxes(inst, ctx) {
  const box = plotBox(inst);
  const [xa, ya] = toData(inst, box.l, box.t + box.h);
  const [xb, yb] = toData(inst, box.l + box.w, box.t);
  ctx.strokeStyle = "rgba(128,128,128,0.18)";
  ctx.fillStyle = "rgba(90,90,90,1)";
  ctx.lineWidth = 1;
  ctx.font = "11px sans-serif";
  const sx = niceStep(xb - xa, 8), sy = niceStep(yb - ya, 7);
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (let x = Math.ceil(xa / sx) * sx; x <= xb; x += sx) {
    const [px] = toPx(inst, x, 0);
    ctx.beginPath(); ctx.moveTo(px, box.t); ctx.lineTo(px, box.t + box.h); ctx.stroke();
    ctx.fillText(Number(x.toPrecision(6)).toString(), px, box.t + box.h + 4);
  }
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (let y = Math.ceil(ya / sy) * sy; y <= yb; y += sy) {
    const [, py] = toPx(inst, 0, y);
    ctx.beginPath(); ctx.moveTo(box.l, py); ctx.lineTo(box.l + box.w, py); ctx.stroke();
    ctx.fillText(Number(y.toPrecision(6)).toString(), box.l - 5, py);
  }
  ctx.strokeStyle = "rgba(128,128,128,0.6)";
  ctx.strokeRect(box.l, box.t, box.w, box.h);
  ctx.textAlign = "center"; ctx.textBaseline = "bottom";
  ctx.fillText(inst.axisTitles[0], box.l + box.w / 2, inst.height - 2);
  ctx.save();
  ctx.translate(12, box.t + box.h / 2); ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle";
  ctx.fillText(inst.axisTitles[1], 0, 0);
  ctx.restore();
}

function drawMap(inst) {
  if (!inst.points || !inst.width) return;
  const ctx = inst.map.getContext("2d");
  ctx.clearRect(0, 0, inst.width, inst.height);
  drawAxes(inst, ctx);
  const box = plotBox(inst);
  ctx.save();
  ctx.beginPath(); ctx.rect(box.l, box.t, box.w, box.h); ctx.clip();
  if (inst.manifold && inst.manifold.box) {
    const [[x0, x1], [y0, y1]] = inst.manifold.box;
    const [p0x, p0y] = toPx(inst, x0, y1), [p1x, p1y] = toPx(inst, x1, y0);
    ctx.imageSmoothingEnabled = false;
    ctx.globalAlpha = 0.85;
    ctx.drawImage(inst.manifold.img, p0x, p0y, p1x - p0x, p1y - p0y);
    ctx.globalAlpha = 1;
  }
  if (inst.priorRadii.length) {
    const [ox, oy] = toPx(inst, 0, 0);
    ctx.setLineDash([6, 4]); ctx.strokeStyle = "#555"; ctx.lineWidth = 1.5;
    for (const r of inst.priorRadii) { ctx.beginPath(); ctx.arc(ox, oy, r * inst.view.s, 0, 2 * Math.PI); ctx.stroke(); }
    ctx.setLineDash([]);
  }
  const pts = inst.points, labels = inst.labels;
  ctx.globalAlpha = 0.75;
  inst.classes.forEach((c, k) => {
    if (inst.hidden.has(k)) return;
    ctx.fillStyle = c.colour;
    ctx.beginPath();
    for (let i = 0; i < inst.n; i++) {
      if (labels[i] !== k) continue;
      const [px, py] = toPx(inst, pts[2 * i], pts[2 * i + 1]);
      ctx.moveTo(px + POINT_RADIUS, py);
      ctx.arc(px, py, POINT_RADIUS, 0, 2 * Math.PI);
    }
    ctx.fill();
  });
  ctx.globalAlpha = 1;
  if (inst.ellipses) {
    const p = inst.ellipsePoints, e = inst.ellipses, k = e.length / (2 * p);
    ctx.strokeStyle = "rgba(40,40,40,0.55)"; ctx.lineWidth = 1;
    ctx.beginPath();
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < p; i++) {
        const [px, py] = toPx(inst, e[2 * (j * p + i)], e[2 * (j * p + i) + 1]);
        if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
      }
    }
    ctx.stroke();
  }
  ctx.restore();
  drawOverlay(inst);
}

function drawOverlay(inst) {
  if (!inst.width) return;
  const ctx = inst.overlay.getContext("2d");
  ctx.clearRect(0, 0, inst.width, inst.height);
  const ring = (x, y, colour, r) => {
    const [px, py] = toPx(inst, x, y);
    ctx.strokeStyle = colour; ctx.lineWidth = 2.5;
    ctx.beginPath(); ctx.arc(px, py, r, 0, 2 * Math.PI); ctx.stroke();
    return [px, py];
  };
  if (inst.hoverPoint) ring(inst.hoverPoint[0], inst.hoverPoint[1], "rgba(0,0,0,0.5)", 7);
  if (inst.pinned) {
    const [px, py] = ring(inst.pinned.x, inst.pinned.y, "#d10000", 9);
    ctx.beginPath(); ctx.moveTo(px - 14, py); ctx.lineTo(px + 14, py); ctx.moveTo(px, py - 14); ctx.lineTo(px, py + 14);
    ctx.lineWidth = 1.5; ctx.stroke();
  }
}

// ---- previews ------------------------------------------------------------------------------------

// Image values -> the preview canvas, blown up without smoothing. `get(i)` gives byte i of [H, W, C].
function drawImage(inst, canvas, get) {
  const [h, w, c] = inst.preview.shape;
  const small = inst.scratch;
  small.width = w; small.height = h;
  const sctx = small.getContext("2d");
  const img = sctx.createImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    const r = get(p * c), g = c === 3 ? get(p * c + 1) : r, b = c === 3 ? get(p * c + 2) : r;
    img.data[4 * p] = r; img.data[4 * p + 1] = g; img.data[4 * p + 2] = b; img.data[4 * p + 3] = 255;
  }
  sctx.putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function nearestVisiblePoint(inst, x, y) {
  let best = -1, bestD = Infinity;
  const pts = inst.points;
  for (let i = 0; i < inst.n; i++) {
    if (inst.hidden.has(inst.labels[i])) continue;
    const dx = pts[2 * i] - x, dy = pts[2 * i + 1] - y, d = dx * dx + dy * dy;
    if (d < bestD) { bestD = d; best = i; }
  }
  return best;
}

function nearestCell(values, v) {
  const n = values.length;
  if (n < 2) return 0;
  const step = (values[n - 1] - values[0]) / (n - 1);
  return Math.min(n - 1, Math.max(0, Math.round((v - values[0]) / step)));
}

// What the preview shows at data point (x, y): {draw(canvas), text, x, y, index}.
function previewAt(inst, x, y) {
  const pv = inst.preview;
  const [h, w, c] = pv.shape;
  const size = h * w * c;
  const titles = inst.axisTitles.map((t) => t.replace(/\s*\(.*\)$/, ""));
  if (pv.kind === "mlp") {
    const z = Float64Array.from(pv.z);
    z[pv.dims[0]] = x; z[pv.dims[1]] = y;
    const out = mlpDecode(pv.decoder, z); // [C, H, W] in [0, 1]
    const hw = h * w;
    const get = (i) => { const p = Math.floor(i / c), ch = i % c; return Math.round(Math.min(1, Math.max(0, out[ch * hw + p])) * 255); };
    return { draw: (canvas) => drawImage(inst, canvas, get), x, y, index: null,
             text: `decoded at ${titles[0]} = ${fmt(x)}, ${titles[1]} = ${fmt(y)}` };
  }
  if (pv.kind === "grid") {
    const j = nearestCell(pv.xs, x), r = nearestCell(pv.ys, y), n = pv.xs.length;
    const i = n - 1 - r; // row 0 is the top of the plot
    const offset = (i * n + j) * size;
    return { draw: (canvas) => drawImage(inst, canvas, (k) => pv.atlas[offset + k]), x, y, index: null,
             text: `decoded at ${titles[0]} = ${fmt(x)}, ${titles[1]} = ${fmt(y)} (grid cell ${fmt(pv.xs[j])}, ${fmt(pv.ys[r])})` };
  }
  const k = nearestVisiblePoint(inst, x, y);
  if (k < 0) return null;
  const offset = k * size, label = inst.classes[inst.labels[k]];
  return { draw: (canvas) => drawImage(inst, canvas, (q) => pv.atlas[offset + q]),
           x: inst.points[2 * k], y: inst.points[2 * k + 1], index: inst.index[k], nearest: true,
           text: `nearest test image #${inst.index[k]} (class ${label ? label.name : "?"}): its reconstruction` };
}

// The plane's visible box, sent once the view has been still for VIEW_REPORT_MS (grid previews only).
function reportView(inst) {
  clearTimeout(inst.viewTimer);
  if (inst.preview?.kind !== "grid") return;
  inst.viewTimer = setTimeout(() => {
    const b = plotBox(inst);
    const [x0, y0] = toData(inst, b.l, b.t + b.h), [x1, y1] = toData(inst, b.l + b.w, b.t);
    inst.setStateValue("view_box", { view_id: inst.viewId, x: [x0, x1], y: [y0, y1] });
  }, VIEW_REPORT_MS);
}

function showHover(inst) {
  inst.frame = 0;
  const pos = inst.pendingHover;
  if (!pos) return;
  const t0 = performance.now();
  const [x, y] = toData(inst, pos[0], pos[1]);
  const shown = previewAt(inst, x, y);
  if (!shown) return;
  shown.draw(inst.previewCanvas);
  inst.readout.textContent = shown.text;
  inst.hoverPoint = shown.nearest ? [shown.x, shown.y] : null;
  drawOverlay(inst);
  inst.hoverCount += 1;
  inst.root.dataset.hoverCount = String(inst.hoverCount);
  inst.root.dataset.lastDecodeMs = (performance.now() - t0).toFixed(2);
  // This runs in a requestAnimationFrame callback, so the frame painted next shows the preview: the
  // same end point as the latent pad's timings (a rAF after its synchronous draw).
  HOVER_TIMINGS.push(performance.now() - pos[2]);
  if (HOVER_TIMINGS.length > 5000) HOVER_TIMINGS.splice(0, HOVER_TIMINGS.length - 5000);
}

function showPinned(inst) {
  const p = inst.pinned;
  inst.overlay.dataset.pinned = p ? `${p.x},${p.y}` : "";
  if (!p) {
    inst.pinnedReadout.textContent = "click the map to pin a point";
    inst.pinnedCanvas.getContext("2d").clearRect(0, 0, inst.pinnedCanvas.width, inst.pinnedCanvas.height);
    return;
  }
  const shown = previewAt(inst, p.x, p.y);
  if (shown) shown.draw(inst.pinnedCanvas);
  inst.pinnedReadout.textContent = shown ? shown.text : `(${fmt(p.x)}, ${fmt(p.y)})`;
}

// ---- events --------------------------------------------------------------------------------------

function listen(inst) {
  const o = inst.overlay;
  const on = (target, type, fn, opts) => { target.addEventListener(type, fn, opts); return () => target.removeEventListener(type, fn, opts); };
  let down = null;
  const offs = [
    on(o, "pointerdown", (e) => {
      const [px, py] = eventPos(inst, e);
      down = { px, py, view: { ...inst.view }, moved: false };
      o.setPointerCapture(e.pointerId);
    }),
    on(o, "pointermove", (e) => {
      const [px, py] = eventPos(inst, e);
      if (down) {
        const dx = px - down.px, dy = py - down.py;
        if (!down.moved && dx * dx + dy * dy > 16) { down.moved = true; o.classList.add("panning"); }
        if (down.moved) {
          inst.view = { ...down.view, cx: down.view.cx - dx / down.view.s, cy: down.view.cy + dy / down.view.s };
          drawMap(inst);
        }
      }
      if (!insidePlot(inst, px, py)) return;
      // Coalesce to one preview per animation frame; the latest position wins.
      // The oldest event a preview answers starts its clock.
      inst.pendingHover = [px, py, inst.frame && inst.pendingHover ? inst.pendingHover[2] : e.timeStamp];
      if (!inst.frame) inst.frame = requestAnimationFrame(() => showHover(inst));
    }),
    on(o, "pointerup", (e) => {
      const [px, py] = eventPos(inst, e);
      const wasClick = down && !down.moved;
      const panned = down && down.moved;
      down = null;
      o.classList.remove("panning");
      if (panned) reportView(inst);
      if (!wasClick || !insidePlot(inst, px, py)) return;
      const [x, y] = toData(inst, px, py);
      const shown = previewAt(inst, x, y);
      if (!shown) return;
      inst.pinned = { view_id: inst.viewId, x: shown.x, y: shown.y, index: shown.index, seq: Date.now() };
      showPinned(inst);
      drawOverlay(inst);
      inst.setStateValue("pinned", inst.pinned);
    }),
    on(o, "pointerleave", () => { inst.hoverPoint = null; drawOverlay(inst); }),
    on(o, "dblclick", () => { fitView(inst); drawMap(inst); reportView(inst); }),
    on(o, "wheel", (e) => {
      e.preventDefault();
      const [px, py] = eventPos(inst, e);
      const [x, y] = toData(inst, px, py);
      const factor = Math.exp(-e.deltaY * 0.0015);
      const v = inst.view, s = v.s * factor;
      // Keep the data point under the cursor where it is.
      inst.view = { s, cx: x - (x - v.cx) * (v.s / s), cy: y - (y - v.cy) * (v.s / s) };
      drawMap(inst);
      reportView(inst);
    }, { passive: false }),
  ];
  const ro = new ResizeObserver(() => { if (resize(inst)) drawMap(inst); });
  ro.observe(inst.stack);
  return () => {
    offs.forEach((off) => off()); ro.disconnect(); clearTimeout(inst.viewTimer);
    if (inst.frame) cancelAnimationFrame(inst.frame);
    inst.frame = 0;
  };
}

function createInstance(root) {
  const q = (sel) => root.querySelector(sel);
  return {
    root, legend: q(".lmh-legend"), stack: q(".lmh-stack"), map: q(".lmh-map"), overlay: q(".lmh-overlay"),
    previewCanvas: q(".lmh-preview"), readout: q(".lmh-readout"), note: q(".lmh-note"),
    pinnedCanvas: q(".lmh-pinned"), pinnedReadout: q(".lmh-pinned-readout"),
    scratch: document.createElement("canvas"), hidden: new Set(), hoverCount: 0, frame: 0, viewTimer: 0,
    dataId: null, viewId: null, view: null, width: 0, height: 0, pinned: null, hoverPoint: null,
  };
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector(".lmh");
  if (!root || !data) return undefined;
  let inst = INSTANCES.get(root);
  if (!inst) { inst = createInstance(root); INSTANCES.set(root, inst); }
  inst.setStateValue = setStateValue;
  if (inst.dataId !== data.data_id) loadData(inst, data);
  if (inst.viewId !== data.view_id) {
    // A new view (model, projection or axes): fresh zoom and no pin from the old plane.
    inst.viewId = data.view_id;
    inst.pinned = null;
    inst.hoverPoint = null;
    inst.view = null;
  }
  // The server echoes the pin back; a newer click made meanwhile in the browser wins.
  const echoed = data.pinned;
  if (echoed && echoed.view_id === data.view_id && (!inst.pinned || (echoed.seq || 0) >= (inst.pinned.seq || 0))) {
    inst.pinned = echoed;
  }
  resize(inst);
  if (!inst.view && inst.width) fitView(inst);
  drawMap(inst);
  showPinned(inst);
  root.dataset.ready = "1";
  return listen(inst);
}
