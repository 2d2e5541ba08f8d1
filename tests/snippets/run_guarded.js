// Runs the spec's Node.js snippet and the README's guard around it on one captured delivery.
// usage: node run_guarded.js SPEC_SNIPPET GUARD BODY_FILE SIGNATURE SECRET
// prints one verdict per header a receiver may get (see run_guarded.py).
const crypto = require('crypto');
const fs = require('fs');
const [spec, guard, bodyPath, signature, secret] = process.argv.slice(2);
const verifySignature = new Function('require', fs.readFileSync(spec, 'utf8') + '\nreturn verifySignature;')(require);
const signatureIsValid = new Function('require', 'verifySignature', fs.readFileSync(guard, 'utf8') + '\nreturn signatureIsValid;')(require, verifySignature);
const body = fs.readFileSync(bodyPath);
const other = 'sha256=' + crypto.createHmac('sha256', 'another').update(body).digest('hex');
for (const given of [signature, undefined, '', signature.slice(0, 20), signature.slice(0, -1) + 'é', other]) {
  try {
    console.log(signatureIsValid(body, given, secret) ? 'valid' : 'invalid');
  } catch (e) {
    console.log(`raised: ${e.name}`);
  }
}
