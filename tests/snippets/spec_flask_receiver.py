from flask import Flask, request
import hmac
import hashlib

app = Flask(__name__)
SECRET = "your-secret-key"

@app.route('/webhook', methods=['POST'])
def handle_webhook():
    # Verify signature
    signature = request.headers.get('X-Webhook-Signature', '')
    payload = request.get_data()
    
    expected = f"sha256={hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()}"
    if not hmac.compare_digest(signature, expected):
        return {'error': 'Invalid signature'}, 401
    
    # Process event
    event = request.get_json()
    print(f"Received event: {event['event_type']}")
    
    # Your custom logic here
    if event['event_type'] == 'compliance.violation_detected':
        send_alert(event['compliance'])
    
    return {'status': 'received'}, 200
