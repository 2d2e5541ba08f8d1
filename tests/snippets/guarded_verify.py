def signature_is_valid(payload_bytes, signature, secret):
    """verify_signature, answering False (never raising) for a missing or malformed header."""
    if not isinstance(signature, str) or not signature.isascii():
        return False
    return verify_signature(payload_bytes, signature, secret)
