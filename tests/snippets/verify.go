// The README's Go receiver example, run by tests/it/signatures.rs on a real delivery.
// usage: go run verify.go BODY_FILE SIGNATURE SECRET  -> prints "valid" or "invalid"
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
)

// VerifySignature checks X-Webhook-Signature against the raw body bytes.
func VerifySignature(body []byte, signature, secret string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	expected := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(expected), []byte(signature))
}

func main() {
	body, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	if VerifySignature(body, os.Args[2], os.Args[3]) {
		fmt.Println("valid")
	} else {
		fmt.Println("invalid")
	}
}
