"""The OpenAPI document: every route with its stable operation id (a new route adds its id
here), problem responses and the OAuth2 password flow."""

from __future__ import annotations

import httpx


async def test_openapi_describes_every_route_with_stable_operation_ids(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    operations = {
        (path, method): op["operationId"]
        for path, item in spec["paths"].items()
        for method, op in item.items()
    }
    assert operations == {
        ("/api/v1/auth/register", "post"): "auth_register",
        ("/api/v1/auth/verify-email", "post"): "auth_verify_email",
        ("/api/v1/auth/verify-email/resend", "post"): "auth_verify_email_resend",
        ("/api/v1/auth/password/forgot", "post"): "auth_password_forgot",
        ("/api/v1/admin/users", "get"): "admin_list_users",
        ("/api/v1/admin/users/{user_id}", "patch"): "admin_update_user",
        ("/api/v1/admin/users/{user_id}", "get"): "admin_get_user",
        ("/api/v1/admin/audit-events", "get"): "admin_audit_events_list",
        ("/api/v1/admin/users/{user_id}/sessions/revoke", "post"): "admin_revoke_user_sessions",
        ("/api/v1/admin/users/import", "post"): "admin_import_users",
        ("/api/v1/auth/password/reset", "post"): "auth_password_reset",
        ("/api/v1/auth/login", "post"): "auth_login",
        ("/api/v1/auth/refresh", "post"): "auth_refresh",
        ("/api/v1/auth/logout", "post"): "auth_logout",
        ("/api/v1/auth/token", "post"): "auth_token",
        ("/api/v1/auth/logout-all", "post"): "auth_logout_all",
        ("/api/v1/me/sessions", "get"): "me_sessions_list",
        ("/api/v1/me/identities", "get"): "me_identities_list",
        ("/api/v1/me/identities/{provider}", "delete"): "me_identities_unlink",
        ("/api/v1/me/identities/{provider}", "post"): "me_identities_link",
        ("/api/v1/auth/oauth/{provider}/authorize", "get"): "auth_oauth_authorize",
        ("/api/v1/auth/oauth/{provider}/callback", "get"): "auth_oauth_callback",
        ("/api/v1/auth/oauth/exchange", "post"): "auth_oauth_exchange",
        ("/api/v1/me/sessions/{session_id}", "delete"): "me_sessions_revoke",
        ("/api/v1/me/audit-events", "get"): "me_audit_events_list",
        ("/api/v1/me", "get"): "me_get",
        ("/api/v1/me", "patch"): "me_update",
        ("/api/v1/me/password", "post"): "me_password_change",
        ("/api/v1/me", "delete"): "me_delete",
        ("/api/v1/me/email", "post"): "me_email_change",
        ("/api/v1/me/email/confirm", "post"): "me_email_confirm",
        ("/api/v1/auth/mfa/verify", "post"): "auth_mfa_verify",
        ("/api/v1/auth/mfa/email", "post"): "auth_mfa_email",
        ("/api/v1/me/mfa", "get"): "me_mfa_get",
        ("/api/v1/me/mfa/totp", "post"): "me_mfa_totp_begin",
        ("/api/v1/me/mfa/totp/confirm", "post"): "me_mfa_totp_confirm",
        ("/api/v1/me/mfa/totp", "delete"): "me_mfa_totp_delete",
        ("/api/v1/me/mfa/email", "post"): "me_mfa_email_enable",
        ("/api/v1/me/mfa/email", "delete"): "me_mfa_email_disable",
        ("/api/v1/me/mfa/email/code", "post"): "me_mfa_email_code",
        ("/api/v1/me/mfa/backup-codes", "post"): "me_mfa_backup_codes",
        ("/api/v1/organizations", "post"): "organizations_create",
        ("/api/v1/organizations", "get"): "organizations_list",
        ("/api/v1/organizations/{organization_id}/members", "get"): "organizations_members_list",
        ("/api/v1/organizations/{organization_id}/invitations", "post"): "organizations_invite",
        ("/api/v1/organizations/invitations/accept", "post"): "organizations_invitation_accept",
        (
            "/api/v1/organizations/{organization_id}/members/{user_id}",
            "delete",
        ): "organizations_member_remove",
        ("/api/v1/admin/organizations", "get"): "admin_organizations_list",
        ("/.well-known/jwks.json", "get"): "jwks",
        ("/.well-known/openid-configuration", "get"): "openid_configuration",
        ("/.well-known/oauth-authorization-server", "get"): "oauth_authorization_server",
        ("/health/live", "get"): "health_live",
        ("/health/ready", "get"): "health_ready",
        ("/metrics", "get"): "metrics",
    }
    me = spec["paths"]["/api/v1/me"]["get"]
    assert "401" in me["responses"]
    assert "application/problem+json" in me["responses"]["401"]["content"]
    assert me["security"] == [{"OAuth2PasswordBearer": []}]
    flows = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"
