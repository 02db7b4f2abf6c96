"""The audit vocabulary: every event's tag, named area:subject:action."""

from enum import StrEnum


class Tag(StrEnum):
    # Sign-in and sessions.
    LOGIN_PASSWORD = "account:login:password"
    LOGIN_SECOND_FACTOR = "account:login:second_factor"
    LOGIN_RECOVERY_CODE = "account:login:recovery_code"
    LOGIN_THROTTLED = "account:login:throttled"
    LOGOUT = "account:session:logout"
    SESSION_EXPIRED = "account:session:expired"
    PASSWORD_CHANGE = "account:password:change"
    TOTP_ENROL = "account:totp:enrol"
    RECOVERY_CODES_NEW = "account:recovery_codes:new"
    # Administration.
    USER_CREATE = "admin:user:create"
    USER_UPDATE = "admin:user:update"
    USER_DEACTIVATE = "admin:user:deactivate"
    USER_REACTIVATE = "admin:user:reactivate"
    USER_RESET_PASSWORD = "admin:user:reset_password"
    USER_RESET_TOTP = "admin:user:reset_totp"
    UNIT_CREATE = "admin:unit:create"
    UNIT_RENAME = "admin:unit:rename"
    UNIT_MOVE = "admin:unit:move"
    UNIT_RETIRE = "admin:unit:retire"
    UNIT_IMPORT = "admin:unit:import"
    PARTNER_CREATE = "admin:partner:create"
    # Access decisions.
    ACCESS_REFUSED = "access:request:refused"
    # Keys.
    KEYS_INIT = "crypto:keyring:init"
    KEYS_ROTATE = "crypto:key:rotate"
    KEYS_RETIRE = "crypto:key:retire"
    DATA_KEY_SHRED = "crypto:data_key:shred"
    SHRED_LEDGER_REPLAY = "crypto:ledger:replay"
