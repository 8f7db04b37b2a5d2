// MLP decoder in the browser: Linear (+ReLU) ... Linear, then a sigmoid, as in vae_core's Decoder.
// Loaded standalone by the e2e test (a classic script: these become globals) and prepended to
// latent_pad.js for the component (a module: they stay module-scoped). No exports on purpose.

// base64 of little-endian float32 bytes -> Float32Array (copied, so it is 4-byte aligned).
function latentPadFloat32FromBase64(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

// The export of vae_core.decoder_export.export_mlp_decoder -> a decoder ready for mlpDecode.
function loadMlpDecoder(spec) {
  const layers = spec.layers.map((l) => ({
    nIn: l.in, nOut: l.out, relu: l.activation === "relu",
    weight: latentPadFloat32FromBase64(l.weight), bias: latentPadFloat32FromBase64(l.bias),
  }));
  const widest = Math.max(...layers.map((l) => l.nOut), layers[0].nIn);
  return { layers, imageShape: spec.image_shape, latentDim: spec.latent_dim, sha256: spec.sha256,
           // Two ping-pong buffers, so a decode allocates nothing.
           bufA: new Float32Array(widest), bufB: new Float32Array(widest) };
}

// z (array of latentDim numbers) -> mean image E[x|z] as a Float32Array [C·H·W] in [0, 1], C, H, W order.
// Sums run in double precision and are stored as float32, so they match torch's float32 to ~1e-6.
function mlpDecode(decoder, z) {
  let x = decoder.bufA, y = decoder.bufB;
  for (let i = 0; i < decoder.latentDim; i++) x[i] = z[i];
  for (const layer of decoder.layers) {
    const { nIn, nOut, weight, bias, relu } = layer;
    for (let o = 0; o < nOut; o++) {
      let s = bias[o];
      const row = o * nIn;
      for (let i = 0; i < nIn; i++) s += weight[row + i] * x[i];
      y[o] = relu && s < 0 ? 0 : s;
    }
    const t = x; x = y; y = t;
  }
  const n = decoder.layers[decoder.layers.length - 1].nOut;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-x[i]));
  return out;
}
