"""The one redaction step: what it masks, what it leaves alone, and that a secret never survives it."""

from __future__ import annotations

import io
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockbolt.core.redact import MASK, RedactingFilter, Redactor, install_log_redaction, is_secret_key

R = Redactor()
PEM_BODY = "MIIEowIBAAKCAQEA0Zz\nq83Fv9Jx+T1/8kQ=="


# --- what is masked --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("export DB_PASSWORD=hunter2 next", "export DB_PASSWORD=*** next"),
        ("password = hunter2", "password = ***"),
        ("MYSQL_ROOT_PASSWORD=a;b", "MYSQL_ROOT_PASSWORD=***"),
        ("https://x/cb?token=abc123&state=ok", "https://x/cb?token=***&state=ok"),
        ('{"password": "hun \\"ter\\" 2", "user": "bob"}', '{"password": "***", "user": "bob"}'),
        ('{"apiKey":"k-1"}', '{"apiKey":"***"}'),
        ("{'env': ['PASSWORD=hunter2', 'FOO=bar']}", "{'env': ['PASSWORD=***', 'FOO=bar']}"),
        ("db_password: hunter2 # prod", "db_password: ***"),
        ("--client-secret=abc --verbose", "--client-secret=*** --verbose"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: ***"),
        ('curl -H "Authorization: Bearer abcdefghijklmnop" x', 'curl -H "Authorization: ***" x'),
        ("sent bearer abcdefghijk0 upstream", "sent bearer *** upstream"),
        ("tok xoxb-1234-5678-abcdefgh!", "tok xoxb-***!"),
        ("xoxp-1-2-3-abcdef and xapp-1-A01-123-abc", "xoxp-*** and xapp-***"),
        ("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX", "https://hooks.slack.com/services/***"),
        ("id AKIAIOSFODNN7EXAMPLE", "id AKIA***"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = ***"),
        ("postgres://app:p@ss@db:5432/app", "postgres://app:***@db:5432/app"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("ghp_" + "a" * 36, "ghp_***"),
        ("github_pat_11ABCDEFG0abcdefghijklmnop", "github_pat_***"),
        ("glpat-abcdefghij0123456789", "glpat-***"),
        ("sk-proj-abcdefghij0123456789", "sk-***"),
        ("sk_live_abcdefghij0123", "sk_live_***"),
        ("AIza" + "B" * 35, "AIza***"),
        ("dckr_pat_abcdefghij0123456789", "dckr_pat_***"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl", "eyJ***"),
        ("MONKEY=xoxb-1234-5678-abcdefgh", "MONKEY=xoxb-***"),  # not a secret key, still a secret token
    ],
)
def test_masks(text: str, expected: str) -> None:
    assert R.redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "MONKEY=banana KEYBOARD=us AUTHOR=jane author: jane",
        "TOKENIZERS_PARALLELISM=false PWD=/app OLDPWD=/",
        '{"token": null, "keys": [1, 2], "auth": {"user": "bob"}}',
        "time=2026-11-28T10:00:00Z level=info msg=\"cache key users:42 evicted\" took=12ms",
        'GET /api/v1/items?page=2 HTTP/1.1" 200 512 "-" "Mozilla/5.0"',
        "http://example.com:8080/x https://user@example.com/ ssh://git@github.com:22/a.git",
        "xoxb-… and a bearer token (see docs) and AKIA-style ids and sk-short",
        "",
    ],
)
def test_leaves_non_secrets_alone(text: str) -> None:
    assert R.redact(text) == text


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("DB_PASSWORD", True), ("dbPassword", True), ("DBPASSWORD", True), ("x-api-key", True),
        ("APIKey", True), ("clientSecret", True), ("PASSWORD2", True), ("SSH_PRIVATE_KEY", True),
        ("X-Auth-Token", True), ("AWS_ACCESS_KEY_ID", True), ("DB_PWD", True), ("credentials", True),
        ("MONKEY", False), ("KEYBOARD", False), ("AUTHOR", False), ("TOKENIZERS", False), ("PWD", False),
        ("OLDPWD", False), ("PATH", False), ("passport", False), ("compass", False),
    ],
)
def test_is_secret_key_matches_word_parts(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("run -e PASSWORD=hunter2 -e FOO=bar img", "run -e PASSWORD=*** -e FOO=*** img"),
        ("run --env X=1 --env=Y=2 -eZ=3 img", "run --env X=*** --env=Y=*** -eZ=*** img"),
        ("run -e 'A=b c' -e \"K=v w\" img sh -c 'echo hi'", "run -e A=*** -e K=*** img sh -c 'echo hi'"),
        ("run -e BARE -e xoxb-1234-5678-abcdef img", "run -e BARE -e xoxb-*** img"),
        ("run -e 'A=unclosed", "run -e ***"),
        ("run --name re-e=1 img grep -e x", "run --name re-e=1 img grep -e x"),
        ("run -l owner=bob -l api_key=k1 img", "run -l owner=bob -l api_key=*** img"),
    ],
)
def test_redact_command_masks_every_env_value(text: str, expected: str) -> None:
    assert R.redact_command(text) == expected


def test_private_key_blocks_whole_cut_at_the_head_and_cut_at_the_tail() -> None:
    whole = f"a\n-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\nb"
    assert R.redact(whole) == "a\n-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----\nb"
    head_cut = f"{PEM_BODY}\n-----END PRIVATE KEY-----\nnext line"  # a log cut at 2 MiB inside the key
    assert R.redact(head_cut) == "***-----END PRIVATE KEY-----\nnext line"
    tail_cut = f"log\n-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}"
    assert R.redact(tail_cut) == "log\n-----BEGIN OPENSSH PRIVATE KEY-----***"
    escaped = '{"key_pem": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"}'
    assert "MIIE" not in R.redact(escaped)


def test_extra_patterns_mask_their_match_or_only_their_groups() -> None:
    r = Redactor([r"internal-\d+", r"db_user=(\w+)/(\w+)", r"x*"])
    assert r.extra == (r"internal-\d+", r"db_user=(\w+)/(\w+)", r"x*")
    assert r.redact("id internal-42 db_user=app/pw ok") == "id *** db_user=***/*** ok"


def test_structured_helpers() -> None:
    assert R.mask_env(["A=1", "PATH=/bin", "BARE", 3]) == ["A=***", "PATH=***", "BARE", 3]
    assert R.mask_args(["app", "--token", "t0k", "--name", "web", "--password=pw", "-e", "K=v"]) == [
        "app", "--token", "***", "--name", "web", "--password=***", "-e", "K=v"]
    assert R.mask_mapping({"api-key": "k", "owner": "bob xoxb-1-2-abcdef", "n": 1}) == {
        "api-key": MASK, "owner": "bob xoxb-***", "n": 1}


# --- properties --------------------------------------------------------------------------------------
# Secrets are drawn from digits and letters no surrounding word, key or kept prefix uses, so that any
# six characters of a secret found in the output can only be a leak.

SECRET_CHARS = "0123456789FGJMQVZ"
WORDS = ("GET", "/api/v1/items", "200", "level=info", "msg=started", "user=bob", "took=ms", "monkey=banana",
         "KEYBOARD=us", "author: jane", "TOKENIZERS_PARALLELISM=false", "PWD=/app", "cache", "key", "token",
         "http://example.com/path", "https://user@example.com/", "{\"ok\": true}", "x86_64", "[]", "->")
SHAPES = (
    "DB_PASSWORD={s}", "export API_KEY={s}", "password: {s}", '"clientSecret": "{s}"', "'auth_token': '{s}'",
    "--db-password={s}", "SECRET_TOKEN = {s}", "xoxb-{s}", "xapp-1-{s}", "AKIA{s16}", "ghp_{s36}",
    "github_pat_{s}", "glpat-{s}", "sk-{s}", "AIza{s36}", "dckr_pat_{s}", "npm_{s36}",
    "Authorization: Bearer {s}", "bearer {s}", "https://user:{s}@db.example.com/x", "redis://:{s}@cache:6379",
    "https://hooks.slack.com/services/T0/B0/{s}", "eyJ{s}.eyJ{s}.{s}",
    "-----BEGIN RSA PRIVATE KEY-----\n{s}\n{s}\n-----END RSA PRIVATE KEY-----",
)
secrets = st.text(alphabet=SECRET_CHARS, min_size=36, max_size=48)
surroundings = st.lists(st.sampled_from(WORDS), max_size=8)
separators = st.sampled_from([" ", "\n"])


def _leaks(secret: str, out: str) -> bool:
    return any(secret[i:i + 6] in out for i in range(len(secret) - 5))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SHAPES), secrets, surroundings, surroundings, separators)
def test_a_secret_in_any_supported_shape_never_survives(shape: str, secret: str, before: list[str],
                                                        after: list[str], sep: str) -> None:
    planted = shape.format(s=secret, s16=secret[:16], s36=secret[:36])
    text = sep.join([*before, planted, *after])
    for out in (R.redact(text), R.redact_command(text)):
        assert not _leaks(secret, out), (text, out)


@given(secrets, surroundings, separators)
def test_an_env_value_typed_in_a_command_never_survives(secret: str, words: list[str], sep: str) -> None:
    name = "GREETING"  # not a secret-looking name: only redact_command masks it
    for flag in (f"-e {name}=", f"--env {name}=", f"--env={name}=", f"-e{name}=", f"-e '{name}=x "):
        text = sep.join(["run", flag + secret + ("'" if flag.endswith(" ") else ""), *words])
        assert not _leaks(secret, R.redact_command(text)), text


@given(st.lists(st.sampled_from(WORDS), max_size=30), st.lists(separators, min_size=30, max_size=30))
def test_text_without_secrets_is_unchanged(words: list[str], seps: list[str]) -> None:
    text = "".join(w + s for w, s in zip(words, seps, strict=False))
    assert R.redact(text) == text


FRAGMENTS = st.sampled_from(
    ["PASSWORD", "key", "token", "=", ":", ": ", '"', "'", " ", "\n", "-e ", "--env=", "xoxb-", "abc123XYZ",
     "Bearer ", "://", "u:", "@", "/", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
     "AKIA", "ABCDEFGHIJKLMNOP", "ghp_", "a" * 30, "{", "}", ",", "null", "\\", "MONKEY", "_", MASK])
texts = st.one_of(st.text(max_size=80), st.lists(FRAGMENTS, max_size=16).map("".join))


@settings(max_examples=300)
@given(texts)
def test_masking_twice_changes_nothing(text: str) -> None:
    once = R.redact(text)
    assert R.redact(once) == once
    once = R.redact_command(text)
    assert R.redact_command(once) == once


@settings(max_examples=300)
@given(texts)
def test_scanning_only_trigger_lines_finds_what_a_whole_text_scan_finds(text: str) -> None:
    # "İ" lower-cases to two characters, which sends the text through the plain whole-text scan.
    assert R.redact("İ\n" + text) == "İ\n" + R.redact(text)
    assert R.redact_command("İ\n" + text) == "İ\n" + R.redact_command(text)


# --- logs ----------------------------------------------------------------------------------------------


def test_log_lines_and_tracebacks_are_redacted(root_log: io.StringIO) -> None:
    first = install_log_redaction()
    flt = install_log_redaction(Redactor([r"internal-\d+"]))  # with the config's patterns: replaces the first
    for h in logging.getLogger().handlers:
        assert [f for f in h.filters if isinstance(f, RedactingFilter)] == [flt] and first not in h.filters
    log = logging.getLogger("dockbolt.test")
    log.info("job %s: %s", "j1", {"command_text": "run -e GREETING=hello -e DB_PASSWORD=hunter2 img"})
    log.warning("id internal-42 for %s", "xoxb-1234-5678-abcdef")
    try:
        raise ValueError("connect failed: postgres://app:s3cret@db/app")
    except ValueError:
        log.exception("crashed with token=%s", "abc123")
    out = root_log.getvalue()
    for secret in ("hello", "hunter2", "internal-42", "1234-5678", "s3cret", "abc123"):
        assert secret not in out, out
    assert "GREETING=***" in out and "postgres://app:***@db/app" in out and "ValueError" in out
