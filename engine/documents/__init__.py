"""Documents: rendering, signed manifests, `.relais` envelopes (see `envelope`), verification."""
