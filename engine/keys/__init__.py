"""Key directory: master-key wrapping, platform and organisation key pairs."""
