function signatureIsValid(payload, signature, secret) {
  // "sha256=" and 64 hex digits; anything else would make timingSafeEqual throw.
  if (typeof signature !== 'string' || Buffer.byteLength(signature) !== 71) {
    return false;
  }
  return verifySignature(payload, signature, secret);
}
