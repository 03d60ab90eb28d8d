from engine.errors import Forbidden, RelaisError


class AuthenticationFailed(RelaisError):
    code = "authentication_failed"
    status = 401


class AccountLocked(AuthenticationFailed):
    code = "account_locked"


class LoginThrottled(AuthenticationFailed):
    code = "login_throttled"
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class SecondFactorRequired(AuthenticationFailed):
    code = "second_factor_required"


class SessionExpired(AuthenticationFailed):
    code = "session_expired"


class InvalidToken(AuthenticationFailed):
    code = "invalid_token"


class PermissionDenied(Forbidden):
    code = "permission_denied"


class IdentityInvalid(RelaisError):
    code = "identity_invalid"
    status = 422
