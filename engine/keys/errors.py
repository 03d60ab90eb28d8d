from engine.errors import RelaisError


class KeyError_(RelaisError):
    code = "key_error"
    status = 500


class MasterKeyMissing(KeyError_):
    code = "master_key_missing"


class UnwrapFailed(KeyError_):
    code = "unwrap_failed"
