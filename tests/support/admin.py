"""The operator's side in tests: the admin API over HTTP, with the admin key every test server has."""

from typing import Any

import httpx

ADMIN_KEY = "ftgate-admin-test-key"


class Admin:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(
            base_url=f"{base_url}/admin", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return (
            response.json()
            if response.headers["content-type"].startswith("application/json")
            else response.text
        )

    def create_project(self, name: str, **limits: Any) -> dict[str, Any]:
        return self.call("POST", "/projects", json={"name": name, "limits": limits})

    def create_key(self, project_id: str, name: str | None = None, **limits: Any) -> dict[str, Any]:
        return self.call("POST", f"/projects/{project_id}/keys", json={"name": name, "limits": limits})

    def set_project_limits(self, project_id: str, **limits: Any) -> dict[str, Any]:
        return self.call("PUT", f"/projects/{project_id}/limits", json=limits)

    def set_key_limits(self, key_id: str, **limits: Any) -> dict[str, Any]:
        return self.call("PUT", f"/keys/{key_id}/limits", json=limits)

    def revoke(self, key_id: str) -> dict[str, Any]:
        return self.call("POST", f"/keys/{key_id}/revoke")

    def usage(self, **params: Any) -> Any:
        return self.call("GET", "/usage", params=params)

    def audit(self, **params: Any) -> list[dict[str, Any]]:
        return self.call("GET", "/audit_log", params=params)["data"]

    def close(self) -> None:
        self.http.close()
