// Runs the README's Standard Webhooks receiver example (standard_verify.js), unchanged, on a
// captured delivery, with the `standardwebhooks` package from npm (found through NODE_PATH).
// usage: node run_standardwebhooks.js SNIPPET FUNCTION BODY_FILE HEADERS_JSON SECRET
//   -> prints "valid", "invalid" (no matching signature) or "refused: <error>" (the library
//      would not take the secret in that form)
const fs = require("fs");
const { WebhookVerificationError } = require("standardwebhooks");
const [snippetPath, fn, bodyPath, headers, secret] = process.argv.slice(2);
const snippet = fs.readFileSync(snippetPath, "utf8");
const functions = new Function("require", `${snippet}\nreturn { verifyGenerated, verifyPlain };`)(require);
try {
  functions[fn](fs.readFileSync(bodyPath), JSON.parse(headers), secret);
  console.log("valid");
} catch (e) {
  console.log(e instanceof WebhookVerificationError ? "invalid" : `refused: ${e.message}`);
}
