const { Webhook } = require("standardwebhooks");

// A secret made by --generate-secret ("whsec_..."): give the string as it is.
function verifyGenerated(rawBody, headers, secret) {
  return new Webhook(secret).verify(rawBody, headers);
}

// Any other secret: give its UTF-8 bytes as a Buffer, with {format: "raw"}.
function verifyPlain(rawBody, headers, secret) {
  const key = Buffer.from(secret, "utf8");
  return new Webhook(key, { format: "raw" }).verify(rawBody, headers);
}
