// The browser's token: read from its cookie, or made once (128 random bits, hex) and kept in the cookie
// for a year, then sent to Python. crypto.getRandomValues, not randomUUID: a class server is often plain
// http on a LAN address, where randomUUID does not exist.
const TOKEN = /^[0-9a-f]{32}$/;

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return "";
}

function newToken() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export default function (component) {
  const { data, setStateValue } = component;
  const name = data.cookie;
  let token = readCookie(name);
  if (!TOKEN.test(token)) token = newToken();
  document.cookie = `${name}=${token}; path=/; max-age=31536000; SameSite=Strict`;
  setStateValue("token", token);
}
