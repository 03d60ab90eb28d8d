"""Identity tables. Secrets are stored hashed (passwords, tokens, session ids) or wrapped (TOTP)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime


class OrganisationKind(StrEnum):
    ASSOCIATION = "association"
    DEPARTMENTAL_COUNCIL = "departmental_council"
    CCAS = "ccas"
    COMMUNE = "commune"
    POLICE = "police"
    GENDARMERIE = "gendarmerie"
    CMP = "cmp"
    CRIP = "crip"
    PARQUET = "parquet"
    HOSPITAL = "hospital"
    COMMITTEE = "committee"
    PLATFORM = "platform"


ORGANISATION_KIND_LABELS = {
    OrganisationKind.ASSOCIATION: "Association",
    OrganisationKind.DEPARTMENTAL_COUNCIL: "Conseil départemental",
    OrganisationKind.CCAS: "CCAS / CIAS",
    OrganisationKind.COMMUNE: "Commune",
    OrganisationKind.POLICE: "Police nationale",
    OrganisationKind.GENDARMERIE: "Gendarmerie nationale",
    OrganisationKind.CMP: "Centre médico-psychologique",
    OrganisationKind.CRIP: "Cellule de recueil des informations préoccupantes",
    OrganisationKind.PARQUET: "Parquet (procureur de la République)",
    OrganisationKind.HOSPITAL: "Établissement de santé (service des urgences)",
    OrganisationKind.COMMITTEE: "Comité de suivi ou de pilotage",
    OrganisationKind.PLATFORM: "Administration de la plateforme",
}


# Kinds whose organisations get a flag when created (and by migration 0005): police,
# gendarmerie and the parquet receive offence data by nature; departmental councils (CASF
# L.221-6), the CRIP, CCAS (CASF L.133-5), CMP and hospital (CSP L.1110-4) staff are bound by
# professional secrecy by statute.
OFFENCE_DATA_KINDS = frozenset({OrganisationKind.POLICE, OrganisationKind.GENDARMERIE,
                                OrganisationKind.PARQUET})
SECRECY_KINDS = frozenset({OrganisationKind.DEPARTMENTAL_COUNCIL, OrganisationKind.CCAS,
                           OrganisationKind.CMP, OrganisationKind.CRIP,
                           OrganisationKind.HOSPITAL})


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Recipient capabilities (engine/consent): may receive offence data (`OFF`: police,
    # gendarmerie, approved victim-support associations); its staff are bound by professional
    # secrecy (recipients of the "secret partagé" legal bases). Defaults by kind:
    # `ORGANISATION_FLAG_DEFAULTS`; changed only through identity.service.
    offence_data_authorised: Mapped[bool] = mapped_column(Boolean, default=False,
                                                          server_default=false())
    bound_by_secrecy: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=false())
    # Letterhead of the documents it issues and the RGPD notice's contacts (the organisation
    # is the data controller of its situations); changed only through identity.service.
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(40))
    dpo_contact: Mapped[str | None] = mapped_column(String(300))
    # Who signs its letters (e.g. « Le commissaire de police, chef de circonscription ») and
    # its logo (PNG or JPEG, at most identity.organisations.MAX_LOGO_BYTES); migration 0015.
    signatory: Mapped[str | None] = mapped_column(String(200))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_type: Mapped[str | None] = mapped_column(String(20))
    # The roles whose holders are bound by professional secrecy in this organisation, as a
    # JSON list of role names; NULL keeps the catalogue's default (roles.SECRECY_ROLES).
    secrecy_roles: Mapped[str | None] = mapped_column(Text)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # TOTP secret wrapped by the master key; enrolled once the first code is confirmed.
    totp_secret_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when an administrator created the account or reset its password: the password was
    # shown once to the administrator, so the user must choose their own at next login.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())

    memberships: Mapped[list[Membership]] = relationship(back_populates="user",
                                                         lazy="selectin")


class Membership(Base):
    __tablename__ = "membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    role: Mapped[str] = mapped_column(String(32))

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("user_id", "organisation_id", "role",
                                       name="uq_membership_user_org_role"),
                      Index("ix_membership_org_role", "organisation_id", "role"))


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Written at most once a minute (shown to administrators); the audit keeps one "used" row
    # per token and hour, dated by `use_audited_at`.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    use_audited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UserSession(Base):
    """A web session; the browser holds only its random id inside the signed cookie."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(32))


class LoginFailure(Base):
    """One failed password login, kept for the throttling window only. The typed username and
    the source address are stored as hashes: an unknown name counts exactly like a known one."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(String(64))
    source_key: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set on the failure that locked this account for this source ("account") or blocked the
    # source ("source"): the lock runs from it, whatever earlier failures leave the window.
    locks: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ix_login_failure_account", "account_key", "failed_at"),
                      Index("ix_login_failure_source", "source_key", "failed_at"),
                      Index("ix_login_failure_failed_at", "failed_at"))
