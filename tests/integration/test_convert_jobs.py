"""Conversion through the farm: upload, convert on a real worker, download the GLB or SVG."""

from __future__ import annotations

import io
from pathlib import Path
from xml.etree import ElementTree

import requests
import trimesh

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cad"


def upload(api, path: Path, name: str | None = None) -> str:  # type: ignore[no-untyped-def]
    response = api.post("/v1/files", params={"name": name or path.name}, data=path.read_bytes())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_step_file_converts_to_a_glb_that_reopens(tenant) -> None:
    file_id = upload(tenant.api, FIXTURES / "featuretype.STEP")

    done = tenant.api.wait_final(tenant.api.submit("convert", input_file_id=file_id)["id"], 120)

    assert done["state"] == "succeeded", done["error"]
    [output] = done["outputs"]
    assert output["name"] == "featuretype.glb"
    glb = requests.get(output["url"], timeout=30).content
    mesh = trimesh.load(io.BytesIO(glb), file_type="glb", force="scene").to_mesh()
    assert len(mesh.faces) == done["result"]["triangle_count"] > 0
    assert done["result"]["source_format"] == "step"


def test_a_dxf_converts_to_an_svg_that_parses(tenant) -> None:
    file_id = upload(tenant.api, FIXTURES / "2d" / "wrench.dxf")

    job = tenant.api.submit("convert", input_file_id=file_id, params={"target_format": "e2dx"})
    done = tenant.api.wait_final(job["id"], 120)

    assert done["state"] == "succeeded", done["error"]
    [output] = done["outputs"]
    assert output["name"] == "wrench.svg"
    svg = ElementTree.fromstring(requests.get(output["url"], timeout=30).content)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert done["result"]["layers"] == ["SKETCHGEOMETRY(ANSI)"]
    assert done["result"]["entity_count"] == 39


def test_a_png_named_obj_fails_readably_and_the_worker_goes_on(tenant, tmp_path: Path) -> None:
    fake = tmp_path / "model.obj"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))
    bad = tenant.api.submit("convert", input_file_id=upload(tenant.api, fake))
    good = tenant.api.submit("convert", input_file_id=upload(tenant.api, FIXTURES / "fuze.obj"))

    failed = tenant.api.wait_final(bad["id"], 60)
    succeeded = tenant.api.wait_final(good["id"], 60)

    assert failed["state"] == "failed"
    assert failed["error"]["code"] == "unsupported_format"
    assert "PNG image" in failed["error"]["message"]
    assert succeeded["state"] == "succeeded"


def test_convert_without_an_input_is_422(tenant) -> None:
    response = tenant.api.post("/v1/jobs", json={"kind": "convert"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "input_file_id"
