// Runs the spec's Node.js verification snippet, unchanged, on a captured delivery.
// usage: node run_node.js SNIPPET BODY_FILE SIGNATURE SECRET  -> prints "valid" or "invalid"
const fs = require('fs');
const [snippetPath, bodyPath, signature, secret] = process.argv.slice(2);
const verifySignature = new Function('require', fs.readFileSync(snippetPath, 'utf8') + '\nreturn verifySignature;')(require);
let valid;
try {
  valid = verifySignature(fs.readFileSync(bodyPath), signature, secret);
} catch (e) {
  valid = false; // timingSafeEqual throws when the lengths differ
}
console.log(valid ? 'valid' : 'invalid');
