"""The exceptions the domain raises; `api/` maps them to HTTP status codes in one place."""


class RiskmapError(Exception):
    """Base of every error riskmap raises on purpose."""


class DatabaseError(RiskmapError):
    """The database cannot be reached, created or migrated."""


class ClusterError(DatabaseError):
    """The embedded PostgreSQL cluster cannot be created, started or stopped."""


class MissingSoftwareError(ClusterError):
    """A system package the embedded cluster needs is not installed."""


class NotManagedError(ClusterError):
    """The database is external (RISKMAP_DATABASE_URL); riskmap does not manage its process."""


class DataError(RiskmapError):
    """Input data is invalid; the message names the file, record and field."""


class NotFoundError(RiskmapError):
    """A requested record does not exist."""


class InvalidArgumentError(RiskmapError, ValueError):
    """A caller passed a value the operation cannot use; the message lists what it accepts."""


class ConflictError(InvalidArgumentError):
    """The record's state or time does not allow the operation now (HTTP 409); e.g. issuing a
    candidate whose rule's hold time ran out, or changing a warning that has expired. The
    message says why and what to do instead."""
