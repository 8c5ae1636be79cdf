"""Organizations' errors: each a kernel category (its HTTP status) with a stable code."""

from __future__ import annotations

from gatehouse.shared.errors import BadRequest, Conflict, Forbidden, InvalidInput, NotFound


class InvalidOrganizationName(InvalidInput):
    code = "invalid_organization_name"
    title = "The organization name is not valid"


class InvalidEmail(InvalidInput):
    code = "invalid_email"
    title = "The email address is not valid"


class OrganizationNotFound(NotFound):
    """Also for an organization the caller is not a member of: its existence is not told."""

    code = "organization_not_found"
    title = "No such organization"


class MemberNotFound(NotFound):
    code = "member_not_found"
    title = "No such member of the organization"


class OwnerRequired(Forbidden):
    code = "organization_owner_required"
    title = "Only an owner of the organization may do this"


class InvitationInvalid(BadRequest):
    """Unknown, expired and accepted invitations are indistinguishable to the caller."""

    code = "token_invalid"
    title = "The token is invalid or has expired"


class InvitationForAnotherAddress(Forbidden):
    code = "invitation_email_mismatch"
    title = "The invitation is for another email address"


class AlreadyAMember(Conflict):
    """Two invitations of one organization accepted by one user at the same moment."""

    code = "already_a_member"
    title = "The user is a member of the organization already"
