"""SpiffWorkflow facade: hardened diagram loading, restricted expressions, connectors."""
