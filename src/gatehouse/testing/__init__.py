"""Gatehouse's pytest plugin and what its fixtures hand out (docs/testing.md).

Installed with the extra ``testing`` (``pip install 'gatehouse[testing]'``), pytest loads
``gatehouse.testing.plugin`` by itself. Import from here what a test needs beside the fixtures:
``SignedInUser``, ``MailSink`` and the readers of a mail, ``link_in``, ``token_in``, ``code_in``,
``sql`` (one statement on a test database) and ``assert_problem`` (an RFC 9457 answer).
"""

from gatehouse.testing.mail import MailSink, code_in, link_in, text_of, token_in
from gatehouse.testing.problems import assert_problem
from gatehouse.testing.users import PASSWORD, SignedInUser, UserFactory, sql, unique_email

__all__ = [
    "PASSWORD",
    "MailSink",
    "SignedInUser",
    "UserFactory",
    "assert_problem",
    "code_in",
    "link_in",
    "sql",
    "text_of",
    "token_in",
    "unique_email",
]
