"""Web plumbing: request context, security headers, logging, rate limits, guards, errors, probes."""
