"""The committed generated code is exactly what `make gen` produces from protos/."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tree(root: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(root)): p
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_generated_code_matches_protos(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--out", str(tmp_path / "gen")],
        check=True,
        capture_output=True,
    )
    fresh = _tree(tmp_path / "gen")
    committed = _tree(ROOT / "src" / "onehub" / "gen")
    assert sorted(fresh) == sorted(committed), (
        "run `make gen`: generated files were added or removed"
    )
    drifted = [
        name for name in fresh if not filecmp.cmp(fresh[name], committed[name], shallow=False)
    ]
    assert drifted == [], f"run `make gen`: these generated files drifted from protos/: {drifted}"


def test_contract_field_numbers() -> None:
    """Spot-check the wire contract (docs/api.md): names and numbers clients depend on."""
    from onehub.gen.onehub.v1 import messages_pb2, models_pb2, topics_pb2

    def numbers(message: type) -> dict[str, int]:
        return {f.name: f.number for f in message.DESCRIPTOR.fields}  # type: ignore[attr-defined]

    assert numbers(models_pb2.User) == {
        "created_at": 1,
        "updated_at": 2,
        "id": 3,
        "name": 4,
        "avatar": 5,
        "profile_data": 6,
    }
    assert numbers(models_pb2.Message) == {
        "base": 1,
        "content_base": 2,
        "topic_id": 3,
        "parent_message_id": 4,
    }
    assert numbers(models_pb2.PaginationResponse) == {
        "next_page_key": 1,
        "has_more_results": 2,
        "total_num_results": 3,
    }
    assert numbers(topics_pb2.UpdateTopicRequest) == {
        "topic": 1,
        "update_mask": 2,
        "add_users": 3,
        "remove_users": 4,
    }
    assert numbers(messages_pb2.UpdateMessageRequest) == {
        "message": 1,
        "update_mask": 3,
        "append_mask": 4,
    }
    assert numbers(messages_pb2.ImportMessagesRequest) == {"messages": 2}
    assert models_pb2.User.DESCRIPTOR.fields_by_name["profile_data"].has_presence
