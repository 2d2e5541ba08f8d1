from standardwebhooks.webhooks import Webhook


def verify_generated(raw_body, headers, secret):
    """A secret made by --generate-secret ("whsec_..."): give the string as it is."""
    return Webhook(secret).verify(raw_body, headers)


def verify_plain(raw_body, headers, secret):
    """Any other secret: give its UTF-8 bytes, never the str."""
    return Webhook(secret.encode("utf-8")).verify(raw_body, headers)
