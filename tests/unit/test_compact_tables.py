"""The compact `ps`/`images` tables (the default in chat): at most 80 columns whatever the names, images
and ports, the widest cells cut with "…", ports without the any-address duplicates; and the fan-out's
merge (a HOST column in front) keeping the layout and the width."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dockbolt.core.fanout import Part, merge
from dockbolt.core.goformat import IMAGES_FIELDS, PS_FIELDS
from dockbolt.core.tables import Column, Table, display_width, fit_widths
from workers.docker_port import ContainerSummary, ImageSummary, PortMapping
from workers.formatting import compact_ports, images_compact_table, images_fields, ps_compact_table, ps_fields

LONG_IMAGE = "registry.example.com:5000/platform/payments-gateway-service:2026.12.06-build.4711"
LONG_NAME = "payments-gateway-service-production-eu-west-1-canary-2"
# Wide (CJK, emoji) characters take two columns: widths are display widths, not character counts.
cell = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp", "Mn", "Me", "Cf")), max_size=90)


def summary(name: str, image: str = "busybox", status: str = "Up 2 minutes",
            ports: tuple[PortMapping, ...] = ()) -> ContainerSummary:
    return ContainerSummary(id="ab" * 32, names=(name,), image=image, image_id="sha256:" + "cd" * 32,
                            command="sleep 100", created=0, state="running", status=status, ports=ports)


def published(private: int, public: int, proto: str = "tcp") -> tuple[PortMapping, ...]:
    """A port published on every address, as the engine lists it: once for IPv4, once for IPv6."""
    return (PortMapping(private, proto, "0.0.0.0", public), PortMapping(private, proto, "::", public))


def widths(text: str) -> list[int]:
    return [display_width(line) for line in text.splitlines()]


def test_ps_compact_is_name_image_status_ports_and_fits_80_columns() -> None:
    rows = [summary(LONG_NAME, LONG_IMAGE, "Up 3 hours (healthy)",
                    published(80, 8080) + published(443, 8443) + (PortMapping(9000, "udp"),)),
            summary("db", "postgres:16", "Exited (137) 2 hours ago")]
    text = ps_compact_table(rows).render()
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "IMAGE", "STATUS", "PORTS"]
    assert max(widths(text)) <= 80 and max(len(line) for line in lines) <= 80
    assert lines[1].startswith("payments-gateway-se…  ") and "registry.exampl" in lines[1]
    assert "Up 3 hours (healthy)" in lines[1]  # STATUS is the last column cut
    assert lines[2].split() == ["db", "postgres:16", "Exited", "(137)", "2", "hours", "ago"]


def test_short_rows_are_not_cut_or_padded_at_the_end() -> None:
    text = ps_compact_table([summary("web", ports=published(80, 8080))]).render()
    assert text == ("NAME  IMAGE    STATUS        PORTS\n"
                    "web   busybox  Up 2 minutes  8080->80/tcp")


def test_compact_ports_drop_the_any_address_and_its_ipv6_twin() -> None:
    ports = (*published(80, 8080), *published(443, 8443), PortMapping(53, "udp"),
             PortMapping(81, "tcp", "127.0.0.1", 9090), PortMapping(82, "tcp", "::", 82))
    # docker's order (by container port); "[::]:82->82/tcp" is a port published on the IPv6 any-address only
    assert compact_ports(ports) == "53/udp, 82->82/tcp, 8080->80/tcp, 127.0.0.1:9090->81/tcp, 8443->443/tcp"
    assert compact_ports(published(8000, 8000) + published(8001, 8001)) == "8000-8001->8000-8001/tcp"
    assert compact_ports(()) == ""


@given(st.lists(st.tuples(cell, cell, cell, st.lists(st.integers(1, 65535), max_size=6)), max_size=6))
def test_every_compact_ps_line_fits_80_columns_whatever_the_cells(
        rows: list[tuple[str, str, str, list[int]]]) -> None:
    containers = [summary(name or "x", image, status, tuple(p for n in ports for p in published(n, n)))
                  for name, image, status, ports in rows]
    text = ps_compact_table(containers).render()
    assert all(w <= 80 for w in widths(text)), text
    # and after the fan-out's merge under a HOST column, with a long host name
    host = Part("engine-" + "b" * 60, True, "", Table.from_dict(ps_compact_table(containers).to_dict()))
    _, grid = merge([host, Part("a", True, "", ps_compact_table(containers))])
    if not containers:
        assert grid is None  # nothing to list: the hosts' lines say so, no empty table
        return
    assert grid is not None and grid.layout == "compact"
    assert all(w <= 80 for w in widths(grid.render()))


@given(st.lists(st.integers(0, 300), min_size=1, max_size=12), st.integers(0, 120), st.integers(0, 300))
def test_fit_widths_never_exceeds_the_total_and_never_widens(natural: list[int], floor: int,
                                                             total: int) -> None:
    fitted = fit_widths(natural, [floor] * len(natural), total)
    assert all(0 <= f <= n for f, n in zip(fitted, natural, strict=True))
    if total >= len(natural):
        assert sum(fitted) <= total
    if sum(natural) <= total:
        assert fitted == natural


def test_the_merge_keeps_the_host_readable_and_the_rows_whole() -> None:
    part = Part("engine-b", True, "1 running container.",
                ps_compact_table([summary(LONG_NAME, LONG_IMAGE, ports=published(80, 8080))]))
    _, grid = merge([part])
    assert grid is not None
    header, row = grid.render().splitlines()
    assert header.split() == ["HOST", "NAME", "IMAGE", "STATUS", "PORTS"]
    assert row.startswith("engine-b  payments-gateway") and "Up 2 minutes" in row
    assert len(row) <= 80


def test_a_compact_table_survives_json_and_a_plain_one_stays_the_clis() -> None:
    grid = ps_compact_table([summary("web")])
    back = Table.from_dict(grid.to_dict())
    assert back == grid and back.layout == "compact" and back.render() == grid.render()
    assert [getattr(h, "floor", None) for h in back.headers] == [20, 16, 24, 12]
    plain = Table.of(("ID", "NAMES"), [("1", "web")])
    assert plain.layout == "cli" and "columns" not in plain.to_dict()
    assert Table.from_dict(plain.to_dict()).render() == "ID        NAMES\n1         web"
    assert Column("NAME") == "NAME" and Column("NAME", "lines").layout == "lines"


def test_images_compact_is_repository_tag_id_created_size() -> None:
    now = 1_800_000_000
    images = [ImageSummary("sha256:" + "12" * 32, (LONG_IMAGE, "busybox:latest"), now - 3600, 1_985_472),
              ImageSummary("sha256:" + "34" * 32, (), now - 60, 10)]
    text = images_compact_table(images, now).render()
    lines = text.splitlines()
    assert lines[0].split() == ["IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[1].split() == ["<none>", "343434343434", "About", "a", "minute", "ago", "10B"]
    assert lines[2].startswith("registry.example.com:5000/platform/pa…  ")
    assert lines[2].split()[1:] == ["121212121212", "About", "an", "hour", "ago", "1.99MB"]
    assert lines[3].split()[0] == "busybox:latest"
    assert max(widths(text)) <= 80


def test_the_worker_fills_every_field_the_bot_accepts() -> None:
    assert set(ps_fields(summary("web"), now=0)) == set(PS_FIELDS)
    (record,) = images_fields([ImageSummary("sha256:" + "12" * 32, ("app:1",), 0, 10)], now=0)
    assert set(record) == set(IMAGES_FIELDS)
    assert [record[k] for k in ("Repository", "Tag", "ID", "Size")] == ["app", "1", "12" * 6, "10B"]
