// Slim OCR page configuration. Deployment overwrites this file (see README.md).
// apiBaseUrl: where the API lives, without a trailing slash, e.g.
//   "https://abc123.execute-api.eu-west-1.amazonaws.com" or "https://ocr.example.com/api".
//   Empty ("") means the same origin as this page (local development: `make run`).
window.SLIM_OCR_CONFIG = {
  apiBaseUrl: "",
};
