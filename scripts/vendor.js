// Copies the front-end libraries the pages use from node_modules into static/vendor/.
// Runs after `npm ci` (postinstall); static/vendor/ is not committed.
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const files = {
  "jsqr/dist/jsQR.js": "jsQR.js",
};
const target = path.join(root, "static", "vendor");
fs.mkdirSync(target, { recursive: true });
for (const [from, to] of Object.entries(files)) {
  fs.copyFileSync(path.join(root, "node_modules", from), path.join(target, to));
}
console.log(`vendored ${Object.keys(files).length} file(s) into static/vendor/`);
