"""Key directory: master-key wrapping, platform and organisation key pairs."""
from engine.errors import RelaisError


class KeyError_(RelaisError):
    code = "key_error"
    status = 500


class MasterKeyMissing(KeyError_):
    code = "master_key_missing"


class UnwrapFailed(KeyError_):
    code = "unwrap_failed"


class KeyNotFound(KeyError_):
    """No usable private key under this id here (unknown, or a recovery key held offline)."""

    code = "unknown_key"
    status = 404


class KeyExpired(KeyError_):
    """The organisation's current key is past its `not_after`: rotate before sealing again."""

    code = "key_expired"
    status = 409


class KeyRejected(KeyError_):
    """A public key offered for registration is not a usable X25519 key."""

    code = "key_rejected"
    status = 422
