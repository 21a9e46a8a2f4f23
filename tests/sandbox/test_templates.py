"""GET/POST/DELETE /{version}/{waba_id}/message_templates: validation, paging, filters."""

from __future__ import annotations

import httpx

WABA = "200000000000009"


def create(graph: httpx.Client, name: str, language: str = "en_US", **extra) -> httpx.Response:
    body = {
        "name": name,
        "language": language,
        "category": "MARKETING",
        "components": [
            {"type": "BODY", "text": "Hello {{1}}", "example": {"body_text": [["Ana"]]}}
        ],
    } | extra
    return graph.post(f"/{WABA}/message_templates", json=body)


def test_create_validates_and_auto_approves(sandbox, graph):
    response = create(graph, "spring_sale")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "PENDING" and data["category"] == "MARKETING" and data["id"]
    [listed] = graph.get(f"/{WABA}/message_templates").json()["data"]
    assert listed["status"] == "APPROVED"
    assert listed["name"] == "spring_sale"
    assert create(graph, "spring_sale").json()["error"]["error_subcode"] == 2388024
    assert "name" in create(graph, "Spring Sale").json()["error"]["error_data"]["details"]
    for bad in (
        {"language": "english"},
        {"category": "PROMO"},
        {"components": {"type": "BODY"}},
    ):
        error = create(graph, "x_" + str(len(bad)), **bad).json()["error"]
        assert error["code"] == 100
        assert next(iter(bad)) in error["error_data"]["details"]


def test_pending_without_auto_approve(sandbox, graph):
    sandbox.update_config(auto_approve_templates=False)
    create(graph, "needs_review")
    assert graph.get(f"/{WABA}/message_templates").json()["data"][0]["status"] == "PENDING"
    sandbox.approve_template("needs_review", waba_id=WABA)
    assert graph.get(f"/{WABA}/message_templates").json()["data"][0]["status"] == "APPROVED"


def test_paging_and_filters(sandbox, graph):
    for index in range(5):
        create(graph, f"t_{index}")
    create(graph, "t_0", language="pt_BR")
    page = graph.get(f"/{WABA}/message_templates", params={"limit": 4}).json()
    assert len(page["data"]) == 4
    assert "next" in page["paging"]
    rest = graph.get(
        f"/{WABA}/message_templates",
        params={"limit": 4, "after": page["paging"]["cursors"]["after"]},
    ).json()
    assert len(rest["data"]) == 2
    assert "next" not in rest["paging"]
    assert httpx.get(page["paging"]["next"], headers=graph.headers).json()["data"] == rest["data"]
    by_name = graph.get(f"/{WABA}/message_templates", params={"name": "t_0"}).json()["data"]
    assert {t["language"] for t in by_name} == {"en_US", "pt_BR"}
    pt = graph.get(f"/{WABA}/message_templates", params={"language": "pt_BR"}).json()["data"]
    assert len(pt) == 1
    assert graph.get(f"/{WABA}/message_templates", params={"status": "REJECTED"}).json() == {
        "data": []
    }
    assert graph.get("/555/message_templates").json() == {"data": []}


def test_delete_by_name(sandbox, graph):
    create(graph, "old_one")
    create(graph, "old_one", language="es")
    response = graph.delete(f"/{WABA}/message_templates", params={"name": "old_one"})
    assert response.json() == {"success": True}
    assert graph.get(f"/{WABA}/message_templates").json()["data"] == []
    again = graph.delete(f"/{WABA}/message_templates", params={"name": "old_one"})
    assert again.status_code == 400
