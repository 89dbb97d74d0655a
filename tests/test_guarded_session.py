"""The session under ServiceSession is a requests-cache ``CachedSession`` subclass.

Redirect guard by subclassing (no per-instance patching); offline mode through
requests-cache's own ``only_if_cached`` + ``stale_if_error``; online, requests-cache
neither reads nor writes (the owner writes only checked answers).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from requests_cache import CachedSession

from biomed_agent.errors import OfflineError
from biomed_agent.retrievers.cache import PRIVATE_PARAMS
from biomed_agent.retrievers.http import ServiceSession
from tests.helpers.replay_server import ReplayServer, fast_retry, settings_for

ASPIRIN = "/pug/compound/name/aspirin/cids/JSON"


def session(server: ReplayServer, tmp_path: Path, **settings: object) -> ServiceSession:
    config = settings_for(server, tmp_path, **settings)
    return ServiceSession(
        "PubChem", config.pubchem_url, config, max_per_second=50, retry=fast_retry()
    )


@pytest.mark.parametrize("offline", [False, True])
def test_session_is_a_configured_cached_session(
    replay_server: ReplayServer, tmp_path: Path, offline: bool
) -> None:
    http = session(replay_server, tmp_path, offline=offline)
    inner = http._session
    assert isinstance(inner, CachedSession)
    assert "get_redirect_target" not in vars(inner)  # a method override, not a patch
    assert inner.cache is http.cache
    settings = inner.settings
    assert (settings.only_if_cached, settings.stale_if_error) == (offline, offline)
    assert settings.disabled is (not offline) and settings.read_only is True
    assert set(PRIVATE_PARAMS) <= set(settings.ignored_parameters)  # keys/redaction kept
    http.close()


def test_offline_drops_a_poisoned_row_and_reports_it_missing(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    online = session(replay_server, tmp_path)
    online.get(ASPIRIN, what="x")
    (key,) = list(online.cache.responses.keys())
    row = online.cache.get_response(key)
    assert row is not None
    row._content = b"<html>maintenance</html>"  # e.g. a row written by an older version
    online.cache.save_response(row, key)
    online.close()

    offline = session(replay_server, tmp_path, offline=True)
    with pytest.raises(OfflineError, match=r"BIOMED_OFFLINE=1\) and compound 'aspirin' is not"):
        offline.get(ASPIRIN, what="compound 'aspirin'")
    assert offline.cache.get_response(key) is None  # deleted, not served
    assert (offline.stats.requests, replay_server.count()) == (0, 1)
    offline.close()
