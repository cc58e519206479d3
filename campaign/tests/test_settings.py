"""Settings come from the environment; each case runs in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from campaign.lib.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER, "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"], "debug": settings.DEBUG,
    "hosts": settings.ALLOWED_HOSTS, "tz": settings.TIME_ZONE, "lang": settings.LANGUAGE_CODE,
    "session_age": settings.SESSION_COOKIE_AGE,
}))
"""
BARE = {
    k: v
    for k, v in os.environ.items()
    if k
    not in (
        "DATABASE_URL",
        "REDIS_URL",
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "HTTPS_ONLY",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    )
}


# A production-like key: with DEBUG=0 the settings refuse to start without one.
A_KEY = "k7#pQ2v9!zR4xW8mN1bT6yH3jL5cF0gD-aS_eU@iO$Zq8&Lw3^Ne5*Tb"


def probe(**env):
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**BARE, "DJANGO_SETTINGS_MODULE": "campaign.settings", "SECRET_KEY": A_KEY, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_unset_runs_embedded_on_sqlite_with_tasks_in_process():
    values = probe()
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(ROOT / "db.sqlite3")
    assert values["eager"] is True
    assert values["cache"].endswith("LocMemCache")
    assert values["debug"] is False
    assert (values["tz"], values["lang"]) == ("Asia/Shanghai", "zh-hans")
    assert values["session_age"] == 10 * 3600


def test_database_url_selects_postgresql():
    values = probe(DATABASE_URL="postgres://camp:secret@db.internal:5433/meishan")
    assert values["engine"] == "django.db.backends.postgresql"
    assert (values["name"], values["host"]) == ("meishan", "db.internal")


def test_redis_url_makes_redis_the_broker_and_the_cache():
    values = probe(REDIS_URL="redis://cache.internal:6379/2")
    assert values["eager"] is False
    assert values["broker"] == "redis://cache.internal:6379/2"
    assert values["cache"].endswith("RedisCache")


def test_debug_and_allowed_hosts_are_read():
    values = probe(DEBUG="1", ALLOWED_HOSTS="vaccine.meishan.gov.cn, 10.0.0.5")
    assert values["debug"] is True
    assert values["hosts"] == ["vaccine.meishan.gov.cn", "10.0.0.5"]


def test_a_bad_boolean_stops_start_up():
    with pytest.raises(subprocess.CalledProcessError) as caught:
        subprocess.run(
            [sys.executable, "-c", PROBE],
            cwd=ROOT,
            env={**BARE, "DJANGO_SETTINGS_MODULE": "campaign.settings", "DEBUG": "perhaps"},
            capture_output=True,
            text=True,
            check=True,
        )
    assert "ImproperlyConfigured" in caught.value.stderr


def start_without_a_key(**env):
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**BARE, "DJANGO_SETTINGS_MODULE": "campaign.settings", **env},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("debug", [None, "0", "false"])
def test_without_debug_the_built_in_development_key_stops_start_up(debug):
    result = start_without_a_key(**({} if debug is None else {"DEBUG": debug}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_the_development_key_named_outright_is_refused_too():
    result = start_without_a_key(DEBUG="0", SECRET_KEY="django-insecure-embedded-default-change-me")
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_with_debug_the_development_key_still_serves_a_development_machine():
    result = start_without_a_key(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is True


def test_production_variables_pass_check_deploy_without_a_warning():
    env = {
        **BARE,
        "DEBUG": "0",
        "SECRET_KEY": A_KEY,
        "ALLOWED_HOSTS": "vaccine.example.cn",
        "HTTPS_ONLY": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr + result.stdout


def test_env_helpers(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    monkeypatch.setenv("COUNT", "12")
    monkeypatch.setenv("LIST", "a, b,,c")
    assert env_bool("FLAG") is True
    assert env_int("COUNT", 1) == 12
    assert env_list("LIST", []) == ["a", "b", "c"]
    monkeypatch.setenv("COUNT", "twelve")
    with pytest.raises(ImproperlyConfigured):
        env_int("COUNT", 1)


def _manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**BARE, **env}, capture_output=True, text=True
    )


def test_a_developer_s_manage_py_without_a_key_runs_with_debug_on():
    result = _manage("check")
    assert result.returncode == 0, result.stderr


def test_a_server_s_manage_py_with_debug_off_still_refuses_the_development_key():
    result = _manage("check", DEBUG="0")
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_the_wsgi_application_without_a_key_refuses_to_start():
    result = subprocess.run(
        [sys.executable, "-c", "import campaign.wsgi"], cwd=ROOT, env=BARE, capture_output=True, text=True
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr
