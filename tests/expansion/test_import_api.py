"""POST /api/import/{file} (contract.md, "REST API"): the same CSVs and validation as `import_data`."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from expansion.api import IsRevOps
from expansion.models import Account, Role, User
from tests.expansion.test_import import ACCOUNTS, USERS, contents
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

FILES = ["users.csv", "accounts.csv", "usage.csv", "activities.csv", "expansions.csv", "events.csv"]
#: USERS without its RevOps row: the people a RevOps user may import (only a superuser adds RevOps/Finance).
TEAM = USERS.replace("olli@example.com,Olli Ops,RevOps,,\n", "")
BAD_ACCOUNTS = ACCOUNTS.replace("A-3,Initech,SMB,Starter,6000.50", "A-3,Initech,Tiny,Starter,-5")


def url(name: str) -> str:
    return reverse("api-import", kwargs={"file": name})


def post_csv(client: APIClient, name: str, text: str | bytes, **extra):
    body = text.encode() if isinstance(text, str) else text
    return client.post(url(name), data=body, content_type="text/csv", **extra)


@pytest.fixture
def revops() -> User:
    return UserFactory(role=Role.REVOPS)


@pytest.fixture
def revops_client(revops) -> APIClient:
    client = APIClient()
    client.force_login(revops)
    return client


@pytest.fixture
def with_users(revops_client):
    """users.csv is loaded, so accounts.csv can refer to its people."""
    assert post_csv(revops_client, "users.csv", TEAM).status_code == 200


def test_revops_imports_a_raw_csv_body(revops_client):
    # when
    response = post_csv(revops_client, "users.csv", TEAM)

    # then
    assert response.status_code == 200
    assert response.json() == {"file": "users.csv", "rows": 3, "created": 3, "updated": 0}
    assert set(User.objects.values_list("email", flat=True)) >= {
        "mia@example.com",
        "alex@example.com",
        "casey@example.com",
    }


def test_revops_imports_a_multipart_upload(revops_client, with_users):
    # given
    upload = SimpleUploadedFile("export-accounts.csv", ACCOUNTS.encode(), content_type="text/csv")

    # when
    response = revops_client.post(url("accounts.csv"), {"file": upload}, format="multipart")

    # then
    assert response.status_code == 200
    assert response.json() == {"file": "accounts.csv", "rows": 3, "created": 3, "updated": 0}
    assert Account.objects.get(account_id="A-1").contract_arr == Decimal("48000.00")


def test_reimport_through_the_api_changes_nothing(revops_client, with_users):
    # given
    assert post_csv(revops_client, "accounts.csv", ACCOUNTS).status_code == 200
    before = contents()

    # when
    response = post_csv(revops_client, "accounts.csv", ACCOUNTS)

    # then
    assert response.json() == {"file": "accounts.csv", "rows": 3, "created": 0, "updated": 0}
    assert contents() == before


def test_token_authentication_works(revops):
    # given
    token = Token.objects.create(user=revops)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    # when
    response = post_csv(client, "users.csv", TEAM)

    # then
    assert response.status_code == 200
    assert response.json() == {"file": "users.csv", "rows": 3, "created": 3, "updated": 0}


def test_superuser_without_a_role_may_import():
    # given
    client = APIClient()
    client.force_login(UserFactory(role="", is_superuser=True, is_staff=True))

    # when
    response = post_csv(client, "users.csv", USERS)

    # then
    assert response.status_code == 200


@pytest.mark.parametrize("role", [Role.FINANCE, Role.AE, Role.CSM, Role.MANAGER])
def test_other_roles_may_not_import_and_nothing_is_written(role):
    # given
    client = APIClient()
    client.force_login(UserFactory(role=role))
    before = contents()

    # when
    response = post_csv(client, "users.csv", USERS)

    # then
    assert response.status_code == 403
    assert response.json() == {"detail": IsRevOps.message}
    assert contents() == before


def test_token_of_a_finance_user_is_refused():
    # given
    token = Token.objects.create(user=UserFactory(role=Role.FINANCE))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    # when
    response = post_csv(client, "users.csv", USERS)

    # then
    assert response.status_code == 403
    assert User.objects.count() == 1


def test_anonymous_request_is_refused_and_nothing_is_written():
    # when
    response = post_csv(APIClient(), "users.csv", USERS)

    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert User.objects.count() == 0


def test_invalid_token_is_refused():
    # given
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    # when
    response = post_csv(client, "users.csv", USERS)

    # then
    assert response.status_code == 401
    assert User.objects.count() == 0


def test_bad_file_is_rejected_with_every_problem_and_nothing_written(revops_client, with_users):
    # given: A-1 exists with its original ARR; the bad file changes it and has one bad row
    AccountFactory(account_id="A-1", contract_arr=Decimal("1000.00"))
    before = contents()

    # when
    response = post_csv(revops_client, "accounts.csv", BAD_ACCOUNTS)

    # then
    assert response.status_code == 400
    assert response.json() == {
        "file": "accounts.csv",
        "errors": [
            "accounts.csv:4: contract_arr: -5 must not be negative",
            "accounts.csv:4: segment: unknown value 'Tiny'; expected one of SMB, MidMarket, Enterprise",
        ],
        "detail": "accounts.csv rejected: 2 problem(s); nothing from this file was written",
    }
    assert contents() == before
    assert Account.objects.get(account_id="A-1").contract_arr == Decimal("1000.00")


def test_a_number_too_large_to_store_is_a_row_error_not_a_server_error(revops_client, with_users):
    # given: the account file with one seat count no column can hold
    huge = ACCOUNTS.replace("2026-01-15,50,1000000", "2026-01-15,99999999999999999999,1000000")
    before = contents()

    # when
    response = post_csv(revops_client, "accounts.csv", huge)

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "accounts.csv:2: seats_licensed: 99999999999999999999 is above the largest allowed value, "
        "2,147,483,647"
    ]
    assert contents() == before


def test_bad_multipart_upload_is_rejected_too(revops_client, with_users):
    # given
    upload = SimpleUploadedFile("accounts.csv", BAD_ACCOUNTS.encode(), content_type="text/csv")

    # when
    response = revops_client.post(url("accounts.csv"), {"file": upload}, format="multipart")

    # then
    assert response.status_code == 400
    assert len(response.json()["errors"]) == 2
    assert Account.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param(b"", "users.csv:1: header: the file is empty; expected a header row", id="empty"),
        pytest.param(
            b"email,name\nbo@example.com,Bo\n",
            "users.csv:1: header: missing required column(s) role",
            id="no-role-column",
        ),
    ],
)
def test_empty_or_headerless_body_is_rejected(revops_client, body, error):
    # when
    response = post_csv(revops_client, "users.csv", body)

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == [error]


def test_non_utf8_body_is_rejected_with_a_clear_message(revops_client):
    # when
    response = post_csv(revops_client, "users.csv", (USERS + "zoe@example.com,Zoë,AE,,\n").encode("latin-1"))

    # then
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error.startswith("users.csv: file: not UTF-8 text")
    assert User.objects.count() == 1


def test_multipart_without_the_file_field_is_rejected(revops_client):
    # when
    response = revops_client.post(url("users.csv"), {"upload": "x"}, format="multipart")

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "users.csv: file: no CSV in the request; send it as the body (Content-Type: text/csv) "
        "or as the multipart field 'file'"
    ]


def test_unknown_file_name_is_404_and_lists_the_valid_names(revops_client):
    # when
    response = post_csv(revops_client, "opportunities.csv", "opportunity_id\nO-1\n")

    # then
    assert response.status_code == 404
    assert response.json() == {
        "detail": "unknown file 'opportunities.csv'; expected one of " + ", ".join(FILES),
        "valid_files": FILES,
    }


def test_upload_above_the_limit_is_413_and_nothing_is_written(revops_client, settings):
    # given
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    body = USERS.encode()
    assert len(body) > 100

    # when
    response = post_csv(revops_client, "users.csv", body)

    # then
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"The upload is {len(body):,} bytes; the import limit is 100 bytes "
        "(IMPORT_MAX_UPLOAD_BYTES). Split the file, or load it on the server with `manage.py import_data`."
    }
    assert User.objects.count() == 1


def test_multipart_upload_above_the_limit_is_413(revops_client, settings):
    # given
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    upload = SimpleUploadedFile("users.csv", USERS.encode(), content_type="text/csv")

    # when
    response = revops_client.post(url("users.csv"), {"file": upload}, format="multipart")

    # then
    assert response.status_code == 413
    assert User.objects.count() == 1


def test_upload_at_the_limit_is_accepted(revops_client, settings):
    # given
    body = TEAM.encode()
    settings.IMPORT_MAX_UPLOAD_BYTES = len(body)

    # when
    response = post_csv(revops_client, "users.csv", body)

    # then
    assert response.status_code == 200


def test_declared_length_above_the_limit_is_refused_before_the_body_is_read(revops_client, settings):
    # given: a Content-Length far above the limit, whatever the body holds
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    expected = "The upload is 5,000,000,000 bytes; the import limit is 1,000 bytes"

    # when
    response = post_csv(revops_client, "users.csv", USERS, CONTENT_LENGTH="5000000000")

    # then
    assert response.status_code == 413
    assert response.json()["detail"].startswith(expected)
    assert User.objects.count() == 1


def test_openapi_schema_documents_the_import(revops_client):
    # when
    response = revops_client.get("/api/schema/", {"format": "json"})

    # then
    assert response.status_code == 200
    operation = response.json()["paths"]["/api/import/{file}"]["post"]
    assert operation["operationId"] == "import_file"
    assert sorted(operation["requestBody"]["content"]) == ["multipart/form-data", "text/csv"]
    assert operation["requestBody"]["content"]["text/csv"]["schema"] == {"type": "string", "format": "binary"}
    assert sorted(operation["responses"]) == ["200", "400", "401", "403", "404", "413"]
    [parameter] = [p for p in operation["parameters"] if p["name"] == "file"]
    assert (parameter["in"], sorted(parameter["schema"]["enum"])) == ("path", sorted(FILES))


# --------------------------------------------------------------------------------------------------
# Only a superuser creates or changes superuser, RevOps and Finance accounts (#13)
# --------------------------------------------------------------------------------------------------

ASK = "; ask a superuser to import this row (or to run manage.py import_data)"


def test_revops_may_not_create_a_revops_user_and_the_file_is_rejected_whole(revops_client):
    # given
    before = contents()

    # when
    response = post_csv(revops_client, "users.csv", USERS + "fin@example.com,Fay Finance,Finance,,\n")

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == [
        f"users.csv:5: role: only a superuser may create a RevOps user (olli@example.com){ASK}",
        f"users.csv:6: role: only a superuser may create a Finance user (fin@example.com){ASK}",
    ]
    assert contents() == before
    assert not User.objects.filter(email__in=["mia@example.com", "olli@example.com"]).exists()


def test_revops_may_not_promote_someone_to_revops_or_finance(revops_client, with_users):
    # given
    before = contents()

    # when
    response = post_csv(revops_client, "users.csv", TEAM.replace("Alex AE,AE,", "Alex AE,Finance,"))

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == [
        f"users.csv:3: role: only a superuser may give alex@example.com the Finance role{ASK}"
    ]
    assert contents() == before
    assert User.objects.get(email="alex@example.com").role == Role.AE


@pytest.mark.parametrize(
    ("who", "kind"),
    [
        pytest.param({"role": Role.FINANCE}, "a Finance user", id="finance"),
        pytest.param({"role": Role.REVOPS}, "a RevOps user", id="revops"),
        pytest.param({"role": "", "is_superuser": True}, "a superuser's account", id="superuser"),
    ],
)
def test_revops_may_not_change_or_demote_a_privileged_account(revops_client, who, kind):
    # given
    UserFactory(email="fin@example.com", name="Fay", **who)
    before = contents()

    # when: demoted to AE (or renamed)
    response = post_csv(revops_client, "users.csv", "email,name,role\nfin@example.com,Fay,AE\n")

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == [
        f"users.csv:2: role: only a superuser may change fin@example.com, {kind}{ASK}"
    ]
    assert contents() == before


def test_revops_may_reimport_unchanged_privileged_rows(revops_client):
    # given: the export as a superuser (or import_data) loaded it
    superuser = APIClient()
    superuser.force_login(UserFactory(role="", is_superuser=True, is_staff=True))
    assert post_csv(superuser, "users.csv", USERS).status_code == 200

    # when
    response = post_csv(revops_client, "users.csv", USERS)

    # then
    assert response.status_code == 200
    assert response.json() == {"file": "users.csv", "rows": 4, "created": 0, "updated": 0}


def test_revops_may_not_change_a_revops_users_manager(revops_client):
    # given
    UserFactory(email="mia@example.com", role=Role.MANAGER)
    UserFactory(email="olli@example.com", name="Olli Ops", role=Role.REVOPS)

    # when
    response = post_csv(
        revops_client,
        "users.csv",
        "email,name,role,manager_email\nolli@example.com,Olli Ops,RevOps,mia@example.com\n",
    )

    # then
    assert response.status_code == 400
    assert User.objects.get(email="olli@example.com").manager is None


def test_a_superuser_may_create_revops_and_finance_users():
    # given
    client = APIClient()
    client.force_login(UserFactory(role="", is_superuser=True, is_staff=True))

    # when
    response = post_csv(client, "users.csv", USERS + "fin@example.com,Fay Finance,Finance,,\n")

    # then
    assert response.status_code == 200
    assert User.objects.get(email="olli@example.com").groups.get().name == Role.REVOPS
    assert User.objects.get(email="fin@example.com").role == Role.FINANCE
