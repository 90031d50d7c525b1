import pytest

from workers.http_guard import (
    ForbiddenAddress,
    client_session,
    guarded_pools,
    is_public_address,
    resolve_checked,
)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_names_resolving_to_loopback_are_refused() -> None:
    with pytest.raises(ForbiddenAddress, match="non-public"):
        resolve_checked("localhost", 80, is_public_address)


def test_a_name_dns_cannot_carry_is_refused_not_raised() -> None:
    with pytest.raises(ForbiddenAddress, match="not a valid host name"):
        resolve_checked("a" * 64 + ".example", 443, is_public_address)


def test_guarded_sessions_share_their_pool_classes() -> None:
    first = client_session(guard=True).get_adapter("http://example.com/")
    second = client_session(guard=True).get_adapter("https://example.com/")

    assert first.poolmanager.pool_classes_by_scheme == second.poolmanager.pool_classes_by_scheme  # type: ignore[attr-defined]


def test_a_shared_guarded_pool_still_refuses_loopback() -> None:
    pool = guarded_pools(is_public_address)["http"]("localhost", 80)

    with pytest.raises(ForbiddenAddress, match="non-public"):
        pool._new_conn().connect()
