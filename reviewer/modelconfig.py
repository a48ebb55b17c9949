"""Model endpoint settings (base URL, model, timeout, retries, concurrency, backoff) and the API key lookup.

Settings come, lowest precedence first, from the defaults, the user's ``models.json`` in the config
folder, the workspace's ``models.json``, the environment (``OPENAI_BASE_URL``, ``SPEC_REVIEW_BASE_URL``,
``SPEC_REVIEW_MODEL``, ``SPEC_REVIEW_TIMEOUT``, ``SPEC_REVIEW_RETRIES``, ``SPEC_REVIEW_CONCURRENCY``)
and command-line options.

The API key is never part of the settings: it is read when a client is made, from
``SPEC_REVIEW_API_KEY``, then ``OPENAI_API_KEY``, then a key kept for this session, then the system
keyring (service ``spec-review``, user = the base URL), so it cannot end up in the database, a log,
an export or a settings file.

A workspace folder may come from someone else, and its ``models.json`` may name any endpoint. A key
from the environment, or the keyring's ``default`` entry, is therefore sent only to an endpoint chosen
on this machine (the user's ``models.json``, the environment, the command line, the settings dialog)
or to the hosted service; for an endpoint that only the workspace names, ``require_endpoint`` refuses
and says how to allow it. A key kept for that very endpoint (keyring or session) is the user's own
choice and is used.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from reviewer import paths
from reviewer.errors import KnownError

CONFIG_FILE = "models.json"
KEYRING_SERVICE = "spec-review"
HOSTED_URL = "https://api.openai.com/v1"
API_KEY_ENV = ("SPEC_REVIEW_API_KEY", "OPENAI_API_KEY")
# Local servers (llama.cpp, vLLM, Ollama) ignore the key but the openai client insists on one.
LOCAL_PLACEHOLDER_KEY = "not-needed"
_ENV_SETTINGS = {
    "OPENAI_BASE_URL": ("base_url", str),  # what the openai client itself reads; ours wins over it
    "SPEC_REVIEW_BASE_URL": ("base_url", str),
    "SPEC_REVIEW_MODEL": ("model", str),
    "SPEC_REVIEW_TIMEOUT": ("timeout", float),
    "SPEC_REVIEW_RETRIES": ("retries", int),
    "SPEC_REVIEW_CONCURRENCY": ("concurrency", int),
}
_SECRET_NAMES = ("api_key", "apikey", "key", "token", "secret", "password")
REDACTED = "[redacted]"
_MIN_SECRET_LENGTH = 8
# Bearer credentials and OpenAI-style keys (sk-..., sk-proj-...), wherever they turn up in a text.
_TOKENS = re.compile(r"(?i)(\bbearer\s+)[a-z0-9._~+/=-]{8,}|\bsk-[a-z0-9_-]{16,}")


@dataclass(frozen=True)
class ModelConfig:
    """How to reach a model endpoint (no secrets: the API key is looked up separately).

    Attributes:
        base_url: an OpenAI-compatible endpoint (``.../v1``); None means the hosted OpenAI service.
        model: the model name; no model means no endpoint is configured.
        timeout: seconds to wait for one answer before giving up on that attempt.
        retries: further attempts after a rate limit, timeout, server error or malformed body.
        invalid_retries: further attempts after an answer that breaks the schema or quotes wrongly.
        concurrency: how many calls run at once.
        backoff: first wait in seconds before a retry, doubled each time (a ``retry-after`` wins).
        backoff_max: the longest wait before a retry.
        temperature: sent when set; left out by default because reasoning models refuse it.
        endpoint_chosen_by: the workspace settings file that chose ``base_url``, when only a workspace
            chose it (None: chosen on this machine, or the default). Not a setting: never read from
            or written to a file, and not compared.
    """

    base_url: str | None = None
    model: str | None = None
    timeout: float = 120.0
    retries: int = 3
    invalid_retries: int = 1
    concurrency: int = 4
    backoff: float = 1.0
    backoff_max: float = 60.0
    temperature: float | None = None
    endpoint_chosen_by: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise KnownError(f"The model timeout must be positive (got {self.timeout}).")
        if self.retries < 0 or self.invalid_retries < 0:
            raise KnownError("Retries cannot be negative.")
        if not 1 <= self.concurrency <= 256:
            raise KnownError(f"Concurrency must be between 1 and 256 (got {self.concurrency}).")
        if self.backoff < 0 or self.backoff_max < 0:
            raise KnownError("Backoff times cannot be negative.")

    @property
    def configured(self) -> bool:
        """Whether a model endpoint is set (a model name is the minimum)."""
        return bool(self.model)

    @property
    def endpoint(self) -> str:
        """The base URL requests go to, without any credentials in it."""
        return safe_url(self.base_url or HOSTED_URL)

    def with_overrides(self, **overrides: Any) -> ModelConfig:
        """Return a copy with the given settings changed; ``None`` values are ignored.

        A ``base_url`` given here is chosen on this machine (environment, command line, the form).
        """
        changes = {k: v for k, v in overrides.items() if v is not None}
        if "base_url" in changes:
            changes["endpoint_chosen_by"] = None
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """Return the settings as plain JSON data (what ``save_config`` writes)."""
        data = asdict(self)
        del data["endpoint_chosen_by"]
        if data["base_url"]:
            data["base_url"] = safe_url(data["base_url"])
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, where: str = "settings") -> ModelConfig:
        """Build settings from JSON data, refusing secrets and unknown keys.

        Raises:
            KnownError: a key holds a secret, is unknown, or has the wrong type.
        """
        return _apply(cls(), data, where)


def _apply(config: ModelConfig, data: Mapping[str, Any], where: str) -> ModelConfig:
    if not isinstance(data, Mapping):
        raise KnownError(f"The model settings in {where} must be a JSON object.")
    secret = [k for k in data if k.lower().replace("-", "_") in _SECRET_NAMES]
    if secret:
        raise KnownError(
            f"{where} holds {secret[0]!r}: API keys are never kept in settings files.",
            hint="Remove it and set SPEC_REVIEW_API_KEY or store the key with `spec-review judge key`.",
        )
    known = {f.name: f for f in fields(ModelConfig) if f.name != "endpoint_chosen_by"}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise KnownError(f"{where} has unknown model settings: {', '.join(unknown)}.",
                         hint=f"Known settings: {', '.join(known)}.")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            changes[key] = None
            continue
        wanted: tuple[type, ...] = (str,) if key in ("base_url", "model") else (int, float)
        if key in ("retries", "invalid_retries", "concurrency"):
            wanted = (int,)
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise KnownError(f"{where}: {key} must be a {' or '.join(t.__name__ for t in wanted)} (got {value!r}).")
        changes[key] = value
    try:
        return replace(config, **changes)
    except TypeError as exc:
        raise KnownError(f"{where}: {exc}.") from exc


def config_files(workspace_root: Path | None = None) -> list[Path]:
    """Return the settings files that apply, lowest precedence first (user, then workspace)."""
    files = [paths.config_dir() / CONFIG_FILE]
    if workspace_root is not None:
        files.append(Path(workspace_root) / CONFIG_FILE)
    return files


def load_config(workspace_root: Path | None = None, *, env: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> ModelConfig:
    """Return the effective settings: defaults, user file, workspace file, environment, ``overrides``.

    Args:
        workspace_root: the workspace folder whose ``models.json`` applies, if any.
        env: the environment to read (default ``os.environ``).
        overrides: command-line values; ``None`` values are ignored.

    Raises:
        KnownError: a settings file is unreadable or holds a secret, or a value is invalid.
    """
    env = os.environ if env is None else env
    config = ModelConfig()
    user_file, *workspace_file = config_files(workspace_root)
    for path in (user_file, *workspace_file):
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise KnownError(f"The model settings file {path} cannot be read: {exc}.") from exc
            chosen_here = config.endpoint
            config = _apply(config, data, str(path))
            # A workspace that names the endpoint already in force, or the hosted service, chooses nothing.
            if path != user_file and not same_endpoint(config.endpoint, chosen_here) \
                    and not same_endpoint(config.endpoint, HOSTED_URL):
                config = replace(config, endpoint_chosen_by=str(path))
    from_env: dict[str, Any] = {}
    for name, (key, kind) in _ENV_SETTINGS.items():
        raw = env.get(name)
        if raw:
            try:
                from_env[key] = kind(raw)
            except ValueError as exc:
                raise KnownError(f"The environment variable {name}={raw!r} is not a valid {kind.__name__}.") from exc
    config = config.with_overrides(**from_env)
    return config.with_overrides(**dict(overrides or {}))


def save_config(config: ModelConfig, path: Path) -> Path:
    """Write the non-secret settings to ``path`` (e.g. ``WORKSPACE/models.json``), atomically.

    Raises:
        KnownError: the file cannot be written.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(config.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise KnownError(f"Cannot write the model settings to {path}: {exc.strerror or exc}.") from exc
    return path


def safe_url(url: str) -> str:
    """Return ``url`` without any ``user:password@`` part, so it can be stored and shown."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def same_endpoint(a: str | None, b: str | None) -> bool:
    """Whether two base URLs name the same endpoint (None is the hosted service; a final slash does not count)."""
    return safe_url(a or HOSTED_URL).rstrip("/") == safe_url(b or HOSTED_URL).rstrip("/")


def _is_local(url: str | None) -> bool:
    host = (urlsplit(url).hostname or "") if url else ""
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass(frozen=True)
class ApiKey:
    """An API key and where it came from; ``repr`` never shows the key.

    Attributes:
        value: the key (None when none was found, or none may be sent).
        source: ``SPEC_REVIEW_API_KEY``, ``OPENAI_API_KEY``, ``session``, ``keyring``, ``placeholder`` or None.
        withheld: where a key was found that may not go to this endpoint (a workspace chose it).
    """

    value: str | None
    source: str | None
    withheld: str | None = None

    def __repr__(self) -> str:
        return f"ApiKey(source={self.source!r})"


# Keys typed in the GUI on a machine without a keyring: for this process only, one per endpoint.
_SESSION_KEYS: dict[str, str] = {}


def keep_session_key(key: str, base_url: str | None) -> str:
    """Keep ``key`` in memory for ``base_url`` (None: the hosted service) until the process ends.

    Returns:
        The endpoint it is kept for.
    """
    endpoint = safe_url(base_url or HOSTED_URL).rstrip("/")
    _SESSION_KEYS[endpoint] = key
    return endpoint


def _keyring_get(base_url: str | None, *, default_entry: bool = True) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    users = (safe_url(base_url or HOSTED_URL), "default") if default_entry else (safe_url(base_url or HOSTED_URL),)
    try:
        for user in dict.fromkeys(users):
            value = keyring.get_password(KEYRING_SERVICE, user)
            if value:
                return str(value)
    except (KeyringError, RuntimeError, OSError):
        return None  # no usable keyring backend on this machine: the environment is the way
    return None


def resolve_api_key(config: ModelConfig, *, env: Mapping[str, str] | None = None) -> ApiKey:
    """Find the API key for ``config``: environment, session, keyring, then a placeholder for local servers.

    For an endpoint only a workspace file chose (``config.endpoint_chosen_by``), the environment's
    keys and the keyring's ``default`` entry are not offered: the key is None and ``withheld`` says
    where one was found. A key kept for exactly that endpoint (session or keyring) is used.
    """
    env = os.environ if env is None else env
    workspace_chose = config.endpoint_chosen_by is not None
    withheld = next((name for name in API_KEY_ENV if env.get(name)), None)
    if withheld and not workspace_chose:
        return ApiKey(env[withheld], withheld)
    session = _SESSION_KEYS.get(safe_url(config.base_url or HOSTED_URL).rstrip("/"))
    if session:
        return ApiKey(session, "session")
    value = _keyring_get(config.base_url, default_entry=not workspace_chose)
    if value:
        return ApiKey(value, "keyring")
    if workspace_chose and (withheld or _keyring_get(config.base_url)):
        return ApiKey(None, None, withheld=withheld or "keyring")
    if config.base_url and _is_local(config.base_url):
        return ApiKey(LOCAL_PLACEHOLDER_KEY, "placeholder")
    return ApiKey(None, None)


def store_api_key(key: str, base_url: str | None = None) -> str:
    """Save ``key`` in the system keyring for ``base_url`` (None: the hosted service).

    Returns:
        A sentence saying where it went (never the key).

    Raises:
        KnownError: no keyring is available on this machine.
    """
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError as exc:
        raise KnownError("The keyring package is not installed.", hint="Set SPEC_REVIEW_API_KEY instead.") from exc
    user = safe_url(base_url or HOSTED_URL)
    try:
        keyring.set_password(KEYRING_SERVICE, user, key)
    except (KeyringError, RuntimeError, OSError) as exc:
        raise KnownError(f"The system keyring cannot store the key: {exc}.",
                         hint="Set SPEC_REVIEW_API_KEY in the environment instead.") from exc
    return f"Stored the API key for {user} in the system keyring (service {KEYRING_SERVICE!r})."


def require_endpoint(config: ModelConfig, what: str = "This step") -> ApiKey:
    """Check that a model endpoint and key are set, and return the key.

    Raises:
        KnownError: no model is set, or the hosted service has no key; the message says what to set.
    """
    if not config.configured:
        raise KnownError(
            f"{what} needs a model endpoint, and none is configured.",
            hint="Set a model with --model NAME or SPEC_REVIEW_MODEL (and --base-url URL or SPEC_REVIEW_BASE_URL "
            "for a server other than the hosted OpenAI service), or save them with `spec-review judge config "
            "WORKSPACE --model NAME --save`.",
        )
    key = resolve_api_key(config)
    if key.withheld:
        endpoint = config.endpoint
        raise KnownError(
            f"{what} would send the API key from {key.withheld} to {endpoint}, an endpoint that only the "
            f"workspace's settings ({config.endpoint_chosen_by}) ask for. A workspace may come from someone "
            "else: keys from the environment or the keyring's default entry go only to endpoints you chose "
            f"on this machine, or to {HOSTED_URL}.",
            hint=f"If you trust {endpoint}, choose it yourself: pass --base-url {endpoint}, set "
            f"SPEC_REVIEW_BASE_URL={endpoint}, put \"base_url\": \"{endpoint}\" in {config_files()[0]}, or "
            f"store a key for it alone with `spec-review judge key --base-url {endpoint}` (in the app: type "
            "it under Settings ▸ Model endpoint).",
        )
    if key.value is None:
        raise KnownError(
            f"{what} needs an API key for {config.endpoint}, and none was found.",
            hint="Set SPEC_REVIEW_API_KEY (or OPENAI_API_KEY), or store one with `spec-review judge key`.",
        )
    return key


def redact(text: str | None, key: ApiKey | str | None = None, *, env: Mapping[str, str] | None = None) -> str | None:
    """Return ``text`` with every secret it may hold replaced by ``[redacted]``.

    Model answers and error bodies are stored, logged and printed; a server can echo the key it
    was sent. So before any of that, this replaces the key in use, any key set in the environment
    (``SPEC_REVIEW_API_KEY``, ``OPENAI_API_KEY``), ``Bearer`` tokens and ``sk-`` style keys.

    Args:
        text: the text to clean (None is returned as is).
        key: the key in use, if any.
        env: the environment whose keys are redacted too (default ``os.environ``).
    """
    if text is None:
        return None
    env = os.environ if env is None else env
    value = key.value if isinstance(key, ApiKey) else key
    secrets = {value, *(env.get(name) for name in API_KEY_ENV)}
    for secret in sorted((s for s in secrets if s and s != LOCAL_PLACEHOLDER_KEY), key=len, reverse=True):
        if len(secret) >= _MIN_SECRET_LENGTH:  # a shorter "key" is a test stand-in, and would mangle answers
            text = text.replace(secret, REDACTED)
    return _TOKENS.sub(lambda m: f"{m.group(1)}{REDACTED}" if m.group(1) else REDACTED, text)
