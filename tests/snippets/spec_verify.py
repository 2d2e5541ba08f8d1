import hmac
import hashlib

def verify_signature(payload_bytes, signature, secret):
    """Verify webhook signature."""
    expected = hmac.new(
        secret.encode(),
        payload_bytes,
        hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)

# In your webhook handler:
signature = request.headers.get("X-Webhook-Signature")
is_valid = verify_signature(request.body, signature, "your-secret-key")
