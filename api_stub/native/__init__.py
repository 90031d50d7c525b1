"""The farm's own API: /v1/jobs, /v1/files, /v1/webhooks, /healthz."""
