"""Who may do what: every URL x method x role and the answer it gets (tests/test_permissions_matrix.py).

One line per URL and method; the URL is its name from the URLconf (``admin:`` for admin pages; an unnamed
admin object URL is ``admin:<app>_<model>_object``). A URL added to the URLconf or the OpenAPI schema
without a line here fails the matrix test, which prints the line to add with the answers it saw: check
each answer against who should be allowed before pasting it.

Roles (columns): ``anon`` not signed in; ``ae`` the AE who owns the EQL (and its account) the URL's
parameters point at; ``other_ae`` an AE who owns neither; ``csm`` the account's CSM; ``manager`` the
owning AE's manager; ``revops`` RevOps (staff, admin); ``finance`` Finance (read-only, not staff).

Answers:
  ok     allowed: 2xx, or a redirect to a page other than a sign-in page
  login  sent to sign in (the site's or admin's), or an htmx HX-Redirect there
  401    API without credentials
  403    signed in but refused
  404    not found or not yours (an object you may not see does not exist for you)
  405    method not allowed
  400    allowed, but the request body was refused (nothing written)
  422    allowed, but the form was refused (nothing written)
  503    not ready (health); ``a|b`` accepts either, for answers that depend on the machine, not the role

Every answer other than ``ok`` to a POST/PUT/PATCH/DELETE must leave the database unwritten, and every
such request that would be processed (ok/400/422) must be refused with 403 without a CSRF token.

Methods: GET and POST everywhere; PUT, PATCH and DELETE on the API too; ``hx:GET`` and ``hx:POST`` are
the same with ``HX-Request: true`` for the htmx endpoints in HTMX.
"""

# ruff: noqa: E501  (TABLE is one aligned line per URL and method)

from __future__ import annotations

ROLES = ("anon", "ae", "other_ae", "csm", "manager", "revops", "finance")

#: URLs also tried as htmx requests (their answers differ: partials, HX-Redirect to sign in).
HTMX = frozenset(
    {
        "inbox",
        "eql",
        "eql_event",
        "eql_crm_create",
        "notifications",
        "notifications_read",
        "backtest-progress",
    }
)

#: How a URL's parameters are filled: parameter -> an object of the matrix's data (its pk) or a literal.
#: Admin URLs are filled from the model in their name (the data has one object of each registered model).
PARAMS: dict[str, dict[str, str]] = {
    "eql": {"pk": "eql"},
    "eql_event": {"pk": "eql"},
    "eql_crm_create": {"pk": "eql", "name": "crm_connection"},
    "eql-detail": {"pk": "eql"},
    "eql-events": {"pk": "eql"},
    "attribution-detail": {"pk": "entry"},
    "attribution-correct": {"pk": "entry"},
    "api-import": {"file": "users.csv"},
    "finance-attribution-eql": {"eql_id": "eql"},
    "backtest": {"pk": "backtest"},
    "backtest-progress": {"pk": "backtest"},
    "backtest-signal-preview": {"pk": "signal"},
    "backtest-gate-preview": {"pk": "gate"},
    "backtest-policy-preview": {"pk": "policy"},
    "backtest-routing-preview": {"pk": "routing_rule"},
}

#: What a state-changing request sends (form fields unless ``json``/``csv``); others send an empty form.
#: Each would change something if it were accepted, so "nothing written" on a refusal means something.
PAYLOADS: dict[str, dict] = {
    "eql_event": {"form": {"type": "note", "note": "Matrix: may this role write here?"}},
    "eql-events": {"json": {"type": "note", "note": "Matrix: may this role write here?"}},
    "notifications_read": {"form": {}},
    "notification_settings": {"form": {"channels": "email", "slack_daily_cap": "3"}},
    "attribution-correct": {"json": {"reason": "Matrix: may this role correct credit?", "percent": 50}},
    # A RevOps user (not a superuser) may not create a RevOps user (#13): 400, nothing written.
    "api-import": {"csv": "email,name,role\nmatrix-escalation@example.com,Escalation,RevOps\n"},
    # A new product event on an account the matrix data has (created only where posting is allowed).
    "api-events": {
        "json": {
            "events": [
                {
                    "event_id": "matrix-event-1",
                    "account_id": "ACC-MATRIX",
                    "occurred_at": "2026-01-05T10:00:00Z",
                    "event": "invite_blocked_seat_limit",
                }
            ]
        }
    },
    # RevOps escalating its own account (the admin user object is the RevOps user): refused (#13).
    "admin:expansion_user_change": {"form": "escalation"},
    "admin:auth_user_password_change": {
        "form": {
            "password1": "Matrix-new-pass-2026",
            "password2": "Matrix-new-pass-2026",
            "usable_password": "true",
        }
    },
}
#: Every admin delete page is sent the confirmation, so an allowed role really deletes (then rolled back).
ADMIN_DELETE_PAYLOAD = {"post": "yes"}

# fmt: off
TABLE = """
# url                                                method  anon   ae     other_ae csm    manager revops finance
health-live                                          GET     ok     ok     ok       ok     ok      ok     ok
health-live                                          POST    ok     ok     ok       ok     ok      ok     ok
health-ready                                         GET     ok|503 ok|503 ok|503   ok|503 ok|503  ok|503 ok|503
health-ready                                         POST    ok|503 ok|503 ok|503   ok|503 ok|503  ok|503 ok|503

admin:index                                          GET     login  login  login    login  login   ok     login
admin:index                                          POST    login  login  login    login  login   ok     login
admin:login                                          GET     ok     ok     ok       ok     ok      ok     ok
admin:login                                          POST    ok     ok     ok       ok     ok      ok     ok
admin:logout                                         GET     ok     ok     ok       ok     ok      405    ok
admin:logout                                         POST    ok     ok     ok       ok     ok      ok     ok
admin:password_change                                GET     login  login  login    login  login   ok     login
admin:password_change                                POST    login  login  login    login  login   ok     login
admin:password_change_done                           GET     login  login  login    login  login   ok     login
admin:password_change_done                           POST    login  login  login    login  login   405    login
admin:autocomplete                                   GET     login  login  login    login  login   403    login
admin:autocomplete                                   POST    login  login  login    login  login   405    login
admin:jsi18n                                         GET     login  login  login    login  login   ok     login
admin:jsi18n                                         POST    login  login  login    login  login   405    login
admin:view_on_site                                   GET     login  login  login    login  login   404    login
admin:view_on_site                                   POST    login  login  login    login  login   404    login

admin:axes_accessattempt_changelist                  GET     login  login  login    login  login   ok     login
admin:axes_accessattempt_changelist                  POST    login  login  login    login  login   ok     login
admin:axes_accessattempt_add                         GET     login  login  login    login  login   403    login
admin:axes_accessattempt_add                         POST    login  login  login    login  login   403    login
admin:axes_accessattempt_history                     GET     login  login  login    login  login   ok     login
admin:axes_accessattempt_history                     POST    login  login  login    login  login   ok     login
admin:axes_accessattempt_delete                      GET     login  login  login    login  login   ok     login
admin:axes_accessattempt_delete                      POST    login  login  login    login  login   ok     login
admin:axes_accessattempt_change                      GET     login  login  login    login  login   ok     login
admin:axes_accessattempt_change                      POST    login  login  login    login  login   403    login
admin:axes_accessattempt_object                      GET     login  login  login    login  login   ok     login
admin:axes_accessattempt_object                      POST    login  login  login    login  login   ok     login
admin:axes_accesslog_changelist                      GET     login  login  login    login  login   ok     login
admin:axes_accesslog_changelist                      POST    login  login  login    login  login   ok     login
admin:axes_accesslog_add                             GET     login  login  login    login  login   403    login
admin:axes_accesslog_add                             POST    login  login  login    login  login   403    login
admin:axes_accesslog_history                         GET     login  login  login    login  login   ok     login
admin:axes_accesslog_history                         POST    login  login  login    login  login   ok     login
admin:axes_accesslog_delete                          GET     login  login  login    login  login   ok     login
admin:axes_accesslog_delete                          POST    login  login  login    login  login   ok     login
admin:axes_accesslog_change                          GET     login  login  login    login  login   ok     login
admin:axes_accesslog_change                          POST    login  login  login    login  login   403    login
admin:axes_accesslog_object                          GET     login  login  login    login  login   ok     login
admin:axes_accesslog_object                          POST    login  login  login    login  login   ok     login
admin:axes_accessfailurelog_changelist               GET     login  login  login    login  login   ok     login
admin:axes_accessfailurelog_changelist               POST    login  login  login    login  login   ok     login
admin:axes_accessfailurelog_add                      GET     login  login  login    login  login   403    login
admin:axes_accessfailurelog_add                      POST    login  login  login    login  login   403    login
admin:axes_accessfailurelog_history                  GET     login  login  login    login  login   ok     login
admin:axes_accessfailurelog_history                  POST    login  login  login    login  login   ok     login
admin:axes_accessfailurelog_delete                   GET     login  login  login    login  login   ok     login
admin:axes_accessfailurelog_delete                   POST    login  login  login    login  login   ok     login
admin:axes_accessfailurelog_change                   GET     login  login  login    login  login   ok     login
admin:axes_accessfailurelog_change                   POST    login  login  login    login  login   403    login
admin:axes_accessfailurelog_object                   GET     login  login  login    login  login   ok     login
admin:axes_accessfailurelog_object                   POST    login  login  login    login  login   ok     login
admin:auth_group_changelist                          GET     login  login  login    login  login   403    login
admin:auth_group_changelist                          POST    login  login  login    login  login   403    login
admin:auth_group_add                                 GET     login  login  login    login  login   403    login
admin:auth_group_add                                 POST    login  login  login    login  login   403    login
admin:auth_group_history                             GET     login  login  login    login  login   403    login
admin:auth_group_history                             POST    login  login  login    login  login   403    login
admin:auth_group_delete                              GET     login  login  login    login  login   403    login
admin:auth_group_delete                              POST    login  login  login    login  login   403    login
admin:auth_group_change                              GET     login  login  login    login  login   403    login
admin:auth_group_change                              POST    login  login  login    login  login   403    login
admin:auth_group_object                              GET     login  login  login    login  login   ok     login
admin:auth_group_object                              POST    login  login  login    login  login   ok     login

admin:authtoken_tokenproxy_changelist                GET     login  login  login    login  login   403    login
admin:authtoken_tokenproxy_changelist                POST    login  login  login    login  login   403    login
admin:authtoken_tokenproxy_add                       GET     login  login  login    login  login   403    login
admin:authtoken_tokenproxy_add                       POST    login  login  login    login  login   403    login
admin:authtoken_tokenproxy_history                   GET     login  login  login    login  login   403    login
admin:authtoken_tokenproxy_history                   POST    login  login  login    login  login   403    login
admin:authtoken_tokenproxy_delete                    GET     login  login  login    login  login   403    login
admin:authtoken_tokenproxy_delete                    POST    login  login  login    login  login   403    login
admin:authtoken_tokenproxy_change                    GET     login  login  login    login  login   403    login
admin:authtoken_tokenproxy_change                    POST    login  login  login    login  login   403    login
admin:authtoken_tokenproxy_object                    GET     login  login  login    login  login   ok     login
admin:authtoken_tokenproxy_object                    POST    login  login  login    login  login   ok     login

admin:django_celery_beat_periodictask_changelist     GET     login  login  login    login  login   ok     login
admin:django_celery_beat_periodictask_changelist     POST    login  login  login    login  login   ok     login
admin:django_celery_beat_periodictask_add            GET     login  login  login    login  login   ok     login
admin:django_celery_beat_periodictask_add            POST    login  login  login    login  login   ok     login
admin:django_celery_beat_periodictask_history        GET     login  login  login    login  login   ok     login
admin:django_celery_beat_periodictask_history        POST    login  login  login    login  login   ok     login
admin:django_celery_beat_periodictask_delete         GET     login  login  login    login  login   ok     login
admin:django_celery_beat_periodictask_delete         POST    login  login  login    login  login   ok     login
admin:django_celery_beat_periodictask_change         GET     login  login  login    login  login   ok     login
admin:django_celery_beat_periodictask_change         POST    login  login  login    login  login   ok     login
admin:django_celery_beat_periodictask_object         GET     login  login  login    login  login   ok     login
admin:django_celery_beat_periodictask_object         POST    login  login  login    login  login   ok     login

admin:django_celery_beat_clockedschedule_changelist  GET     login  login  login    login  login   ok     login
admin:django_celery_beat_clockedschedule_changelist  POST    login  login  login    login  login   ok     login
admin:django_celery_beat_clockedschedule_add         GET     login  login  login    login  login   ok     login
admin:django_celery_beat_clockedschedule_add         POST    login  login  login    login  login   ok     login
admin:django_celery_beat_clockedschedule_history     GET     login  login  login    login  login   ok     login
admin:django_celery_beat_clockedschedule_history     POST    login  login  login    login  login   ok     login
admin:django_celery_beat_clockedschedule_delete      GET     login  login  login    login  login   ok     login
admin:django_celery_beat_clockedschedule_delete      POST    login  login  login    login  login   ok     login
admin:django_celery_beat_clockedschedule_change      GET     login  login  login    login  login   ok     login
admin:django_celery_beat_clockedschedule_change      POST    login  login  login    login  login   ok     login
admin:django_celery_beat_clockedschedule_object      GET     login  login  login    login  login   ok     login
admin:django_celery_beat_clockedschedule_object      POST    login  login  login    login  login   ok     login

admin:django_celery_beat_crontabschedule_changelist  GET     login  login  login    login  login   ok     login
admin:django_celery_beat_crontabschedule_changelist  POST    login  login  login    login  login   ok     login
admin:django_celery_beat_crontabschedule_add         GET     login  login  login    login  login   ok     login
admin:django_celery_beat_crontabschedule_add         POST    login  login  login    login  login   ok     login
admin:django_celery_beat_crontabschedule_history     GET     login  login  login    login  login   ok     login
admin:django_celery_beat_crontabschedule_history     POST    login  login  login    login  login   ok     login
admin:django_celery_beat_crontabschedule_delete      GET     login  login  login    login  login   ok     login
admin:django_celery_beat_crontabschedule_delete      POST    login  login  login    login  login   ok     login
admin:django_celery_beat_crontabschedule_change      GET     login  login  login    login  login   ok     login
admin:django_celery_beat_crontabschedule_change      POST    login  login  login    login  login   ok     login
admin:django_celery_beat_crontabschedule_object      GET     login  login  login    login  login   ok     login
admin:django_celery_beat_crontabschedule_object      POST    login  login  login    login  login   ok     login

admin:django_celery_beat_solarschedule_changelist    GET     login  login  login    login  login   ok     login
admin:django_celery_beat_solarschedule_changelist    POST    login  login  login    login  login   ok     login
admin:django_celery_beat_solarschedule_add           GET     login  login  login    login  login   ok     login
admin:django_celery_beat_solarschedule_add           POST    login  login  login    login  login   ok     login
admin:django_celery_beat_solarschedule_history       GET     login  login  login    login  login   ok     login
admin:django_celery_beat_solarschedule_history       POST    login  login  login    login  login   ok     login
admin:django_celery_beat_solarschedule_delete        GET     login  login  login    login  login   ok     login
admin:django_celery_beat_solarschedule_delete        POST    login  login  login    login  login   ok     login
admin:django_celery_beat_solarschedule_change        GET     login  login  login    login  login   ok     login
admin:django_celery_beat_solarschedule_change        POST    login  login  login    login  login   ok     login
admin:django_celery_beat_solarschedule_object        GET     login  login  login    login  login   ok     login
admin:django_celery_beat_solarschedule_object        POST    login  login  login    login  login   ok     login

admin:django_celery_beat_intervalschedule_changelist GET     login  login  login    login  login   ok     login
admin:django_celery_beat_intervalschedule_changelist POST    login  login  login    login  login   ok     login
admin:django_celery_beat_intervalschedule_add        GET     login  login  login    login  login   ok     login
admin:django_celery_beat_intervalschedule_add        POST    login  login  login    login  login   ok     login
admin:django_celery_beat_intervalschedule_history    GET     login  login  login    login  login   ok     login
admin:django_celery_beat_intervalschedule_history    POST    login  login  login    login  login   ok     login
admin:django_celery_beat_intervalschedule_delete     GET     login  login  login    login  login   ok     login
admin:django_celery_beat_intervalschedule_delete     POST    login  login  login    login  login   ok     login
admin:django_celery_beat_intervalschedule_change     GET     login  login  login    login  login   ok     login
admin:django_celery_beat_intervalschedule_change     POST    login  login  login    login  login   ok     login
admin:django_celery_beat_intervalschedule_object     GET     login  login  login    login  login   ok     login
admin:django_celery_beat_intervalschedule_object     POST    login  login  login    login  login   ok     login

admin:django_celery_results_taskresult_changelist    GET     login  login  login    login  login   403    login
admin:django_celery_results_taskresult_changelist    POST    login  login  login    login  login   403    login
admin:django_celery_results_taskresult_add           GET     login  login  login    login  login   403    login
admin:django_celery_results_taskresult_add           POST    login  login  login    login  login   403    login
admin:django_celery_results_taskresult_history       GET     login  login  login    login  login   403    login
admin:django_celery_results_taskresult_history       POST    login  login  login    login  login   403    login
admin:django_celery_results_taskresult_delete        GET     login  login  login    login  login   403    login
admin:django_celery_results_taskresult_delete        POST    login  login  login    login  login   403    login
admin:django_celery_results_taskresult_change        GET     login  login  login    login  login   403    login
admin:django_celery_results_taskresult_change        POST    login  login  login    login  login   403    login
admin:django_celery_results_taskresult_object        GET     login  login  login    login  login   ok     login
admin:django_celery_results_taskresult_object        POST    login  login  login    login  login   ok     login

admin:django_celery_results_groupresult_changelist   GET     login  login  login    login  login   403    login
admin:django_celery_results_groupresult_changelist   POST    login  login  login    login  login   403    login
admin:django_celery_results_groupresult_add          GET     login  login  login    login  login   403    login
admin:django_celery_results_groupresult_add          POST    login  login  login    login  login   403    login
admin:django_celery_results_groupresult_history      GET     login  login  login    login  login   403    login
admin:django_celery_results_groupresult_history      POST    login  login  login    login  login   403    login
admin:django_celery_results_groupresult_delete       GET     login  login  login    login  login   403    login
admin:django_celery_results_groupresult_delete       POST    login  login  login    login  login   403    login
admin:django_celery_results_groupresult_change       GET     login  login  login    login  login   403    login
admin:django_celery_results_groupresult_change       POST    login  login  login    login  login   403    login
admin:django_celery_results_groupresult_object       GET     login  login  login    login  login   ok     login
admin:django_celery_results_groupresult_object       POST    login  login  login    login  login   ok     login

admin:auth_user_password_change                      GET     login  login  login    login  login   403    login
admin:auth_user_password_change                      POST    login  login  login    login  login   403    login

admin:expansion_user_changelist                      GET     login  login  login    login  login   ok     login
admin:expansion_user_changelist                      POST    login  login  login    login  login   ok     login
admin:expansion_user_add                             GET     login  login  login    login  login   ok     login
admin:expansion_user_add                             POST    login  login  login    login  login   ok     login
admin:expansion_user_history                         GET     login  login  login    login  login   ok     login
admin:expansion_user_history                         POST    login  login  login    login  login   ok     login
admin:expansion_user_delete                          GET     login  login  login    login  login   403    login
admin:expansion_user_delete                          POST    login  login  login    login  login   403    login
admin:expansion_user_change                          GET     login  login  login    login  login   ok     login
admin:expansion_user_change                          POST    login  login  login    login  login   403    login
admin:expansion_user_object                          GET     login  login  login    login  login   ok     login
admin:expansion_user_object                          POST    login  login  login    login  login   ok     login

admin:expansion_account_changelist                   GET     login  login  login    login  login   ok     login
admin:expansion_account_changelist                   POST    login  login  login    login  login   ok     login
admin:expansion_account_add                          GET     login  login  login    login  login   ok     login
admin:expansion_account_add                          POST    login  login  login    login  login   ok     login
admin:expansion_account_history                      GET     login  login  login    login  login   ok     login
admin:expansion_account_history                      POST    login  login  login    login  login   ok     login
admin:expansion_account_delete                       GET     login  login  login    login  login   403    login
admin:expansion_account_delete                       POST    login  login  login    login  login   403    login
admin:expansion_account_change                       GET     login  login  login    login  login   ok     login
admin:expansion_account_change                       POST    login  login  login    login  login   ok     login
admin:expansion_account_object                       GET     login  login  login    login  login   ok     login
admin:expansion_account_object                       POST    login  login  login    login  login   ok     login

admin:expansion_metric_changelist                    GET     login  login  login    login  login   ok     login
admin:expansion_metric_changelist                    POST    login  login  login    login  login   ok     login
admin:expansion_metric_add                           GET     login  login  login    login  login   ok     login
admin:expansion_metric_add                           POST    login  login  login    login  login   ok     login
admin:expansion_metric_history                       GET     login  login  login    login  login   ok     login
admin:expansion_metric_history                       POST    login  login  login    login  login   ok     login
admin:expansion_metric_delete                        GET     login  login  login    login  login   403    login
admin:expansion_metric_delete                        POST    login  login  login    login  login   403    login
admin:expansion_metric_change                        GET     login  login  login    login  login   ok     login
admin:expansion_metric_change                        POST    login  login  login    login  login   ok     login
admin:expansion_metric_object                        GET     login  login  login    login  login   ok     login
admin:expansion_metric_object                        POST    login  login  login    login  login   ok     login

admin:expansion_usagesnapshot_changelist             GET     login  login  login    login  login   ok     login
admin:expansion_usagesnapshot_changelist             POST    login  login  login    login  login   ok     login
admin:expansion_usagesnapshot_add                    GET     login  login  login    login  login   ok     login
admin:expansion_usagesnapshot_add                    POST    login  login  login    login  login   ok     login
admin:expansion_usagesnapshot_history                GET     login  login  login    login  login   ok     login
admin:expansion_usagesnapshot_history                POST    login  login  login    login  login   ok     login
admin:expansion_usagesnapshot_delete                 GET     login  login  login    login  login   403    login
admin:expansion_usagesnapshot_delete                 POST    login  login  login    login  login   403    login
admin:expansion_usagesnapshot_change                 GET     login  login  login    login  login   ok     login
admin:expansion_usagesnapshot_change                 POST    login  login  login    login  login   ok     login
admin:expansion_usagesnapshot_object                 GET     login  login  login    login  login   ok     login
admin:expansion_usagesnapshot_object                 POST    login  login  login    login  login   ok     login

admin:expansion_activity_changelist                  GET     login  login  login    login  login   ok     login
admin:expansion_activity_changelist                  POST    login  login  login    login  login   ok     login
admin:expansion_activity_add                         GET     login  login  login    login  login   ok     login
admin:expansion_activity_add                         POST    login  login  login    login  login   ok     login
admin:expansion_activity_history                     GET     login  login  login    login  login   ok     login
admin:expansion_activity_history                     POST    login  login  login    login  login   ok     login
admin:expansion_activity_delete                      GET     login  login  login    login  login   403    login
admin:expansion_activity_delete                      POST    login  login  login    login  login   403    login
admin:expansion_activity_change                      GET     login  login  login    login  login   ok     login
admin:expansion_activity_change                      POST    login  login  login    login  login   ok     login
admin:expansion_activity_object                      GET     login  login  login    login  login   ok     login
admin:expansion_activity_object                      POST    login  login  login    login  login   ok     login

admin:expansion_expansion_changelist                 GET     login  login  login    login  login   ok     login
admin:expansion_expansion_changelist                 POST    login  login  login    login  login   ok     login
admin:expansion_expansion_add                        GET     login  login  login    login  login   ok     login
admin:expansion_expansion_add                        POST    login  login  login    login  login   ok     login
admin:expansion_expansion_history                    GET     login  login  login    login  login   ok     login
admin:expansion_expansion_history                    POST    login  login  login    login  login   ok     login
admin:expansion_expansion_delete                     GET     login  login  login    login  login   403    login
admin:expansion_expansion_delete                     POST    login  login  login    login  login   403    login
admin:expansion_expansion_change                     GET     login  login  login    login  login   ok     login
admin:expansion_expansion_change                     POST    login  login  login    login  login   ok     login
admin:expansion_expansion_object                     GET     login  login  login    login  login   ok     login
admin:expansion_expansion_object                     POST    login  login  login    login  login   ok     login

admin:expansion_eql_changelist                       GET     login  login  login    login  login   ok     login
admin:expansion_eql_changelist                       POST    login  login  login    login  login   ok     login
admin:expansion_eql_add                              GET     login  login  login    login  login   ok     login
admin:expansion_eql_add                              POST    login  login  login    login  login   ok     login
admin:expansion_eql_history                          GET     login  login  login    login  login   ok     login
admin:expansion_eql_history                          POST    login  login  login    login  login   ok     login
admin:expansion_eql_delete                           GET     login  login  login    login  login   403    login
admin:expansion_eql_delete                           POST    login  login  login    login  login   403    login
admin:expansion_eql_change                           GET     login  login  login    login  login   ok     login
admin:expansion_eql_change                           POST    login  login  login    login  login   ok     login
admin:expansion_eql_object                           GET     login  login  login    login  login   ok     login
admin:expansion_eql_object                           POST    login  login  login    login  login   ok     login

admin:expansion_attributionentry_changelist          GET     login  login  login    login  login   ok     login
admin:expansion_attributionentry_changelist          POST    login  login  login    login  login   ok     login
admin:expansion_attributionentry_add                 GET     login  login  login    login  login   403    login
admin:expansion_attributionentry_add                 POST    login  login  login    login  login   403    login
admin:expansion_attributionentry_history             GET     login  login  login    login  login   ok     login
admin:expansion_attributionentry_history             POST    login  login  login    login  login   ok     login
admin:expansion_attributionentry_delete              GET     login  login  login    login  login   403    login
admin:expansion_attributionentry_delete              POST    login  login  login    login  login   403    login
admin:expansion_attributionentry_change              GET     login  login  login    login  login   ok     login
admin:expansion_attributionentry_change              POST    login  login  login    login  login   403    login
admin:expansion_attributionentry_object              GET     login  login  login    login  login   ok     login
admin:expansion_attributionentry_object              POST    login  login  login    login  login   ok     login

admin:expansion_productevent_changelist              GET     login  login  login    login  login   ok     login
admin:expansion_productevent_changelist              POST    login  login  login    login  login   ok     login
admin:expansion_productevent_add                     GET     login  login  login    login  login   403    login
admin:expansion_productevent_add                     POST    login  login  login    login  login   403    login
admin:expansion_productevent_history                 GET     login  login  login    login  login   ok     login
admin:expansion_productevent_history                 POST    login  login  login    login  login   ok     login
admin:expansion_productevent_delete                  GET     login  login  login    login  login   403    login
admin:expansion_productevent_delete                  POST    login  login  login    login  login   403    login
admin:expansion_productevent_change                  GET     login  login  login    login  login   ok     login
admin:expansion_productevent_change                  POST    login  login  login    login  login   403    login
admin:expansion_productevent_object                  GET     login  login  login    login  login   ok     login
admin:expansion_productevent_object                  POST    login  login  login    login  login   ok     login

admin:scoring_signaldefinition_simple_history        GET     login  login  login    login  login   ok     login
admin:scoring_signaldefinition_simple_history        POST    login  login  login    login  login   ok     login
admin:scoring_signaldefinition_changelist            GET     login  login  login    login  login   ok     login
admin:scoring_signaldefinition_changelist            POST    login  login  login    login  login   ok     login
admin:scoring_signaldefinition_add                   GET     login  login  login    login  login   ok     login
admin:scoring_signaldefinition_add                   POST    login  login  login    login  login   ok     login
admin:scoring_signaldefinition_history               GET     login  login  login    login  login   ok     login
admin:scoring_signaldefinition_history               POST    login  login  login    login  login   ok     login
admin:scoring_signaldefinition_delete                GET     login  login  login    login  login   ok     login
admin:scoring_signaldefinition_delete                POST    login  login  login    login  login   ok     login
admin:scoring_signaldefinition_change                GET     login  login  login    login  login   ok     login
admin:scoring_signaldefinition_change                POST    login  login  login    login  login   ok     login
admin:scoring_signaldefinition_object                GET     login  login  login    login  login   ok     login
admin:scoring_signaldefinition_object                POST    login  login  login    login  login   ok     login

admin:scoring_gate_simple_history                    GET     login  login  login    login  login   ok     login
admin:scoring_gate_simple_history                    POST    login  login  login    login  login   ok     login
admin:scoring_gate_changelist                        GET     login  login  login    login  login   ok     login
admin:scoring_gate_changelist                        POST    login  login  login    login  login   ok     login
admin:scoring_gate_add                               GET     login  login  login    login  login   ok     login
admin:scoring_gate_add                               POST    login  login  login    login  login   ok     login
admin:scoring_gate_history                           GET     login  login  login    login  login   ok     login
admin:scoring_gate_history                           POST    login  login  login    login  login   ok     login
admin:scoring_gate_delete                            GET     login  login  login    login  login   ok     login
admin:scoring_gate_delete                            POST    login  login  login    login  login   ok     login
admin:scoring_gate_change                            GET     login  login  login    login  login   ok     login
admin:scoring_gate_change                            POST    login  login  login    login  login   ok     login
admin:scoring_gate_object                            GET     login  login  login    login  login   ok     login
admin:scoring_gate_object                            POST    login  login  login    login  login   ok     login

admin:scoring_eqlpolicy_simple_history               GET     login  login  login    login  login   ok     login
admin:scoring_eqlpolicy_simple_history               POST    login  login  login    login  login   ok     login
admin:scoring_eqlpolicy_changelist                   GET     login  login  login    login  login   ok     login
admin:scoring_eqlpolicy_changelist                   POST    login  login  login    login  login   ok     login
admin:scoring_eqlpolicy_add                          GET     login  login  login    login  login   403    login
admin:scoring_eqlpolicy_add                          POST    login  login  login    login  login   403    login
admin:scoring_eqlpolicy_history                      GET     login  login  login    login  login   ok     login
admin:scoring_eqlpolicy_history                      POST    login  login  login    login  login   ok     login
admin:scoring_eqlpolicy_delete                       GET     login  login  login    login  login   403    login
admin:scoring_eqlpolicy_delete                       POST    login  login  login    login  login   403    login
admin:scoring_eqlpolicy_change                       GET     login  login  login    login  login   ok     login
admin:scoring_eqlpolicy_change                       POST    login  login  login    login  login   ok     login
admin:scoring_eqlpolicy_object                       GET     login  login  login    login  login   ok     login
admin:scoring_eqlpolicy_object                       POST    login  login  login    login  login   ok     login

admin:scoring_scoringpass_changelist                 GET     login  login  login    login  login   ok     login
admin:scoring_scoringpass_changelist                 POST    login  login  login    login  login   ok     login
admin:scoring_scoringpass_add                        GET     login  login  login    login  login   403    login
admin:scoring_scoringpass_add                        POST    login  login  login    login  login   403    login
admin:scoring_scoringpass_history                    GET     login  login  login    login  login   ok     login
admin:scoring_scoringpass_history                    POST    login  login  login    login  login   ok     login
admin:scoring_scoringpass_delete                     GET     login  login  login    login  login   ok     login
admin:scoring_scoringpass_delete                     POST    login  login  login    login  login   ok     login
admin:scoring_scoringpass_change                     GET     login  login  login    login  login   ok     login
admin:scoring_scoringpass_change                     POST    login  login  login    login  login   403    login
admin:scoring_scoringpass_object                     GET     login  login  login    login  login   ok     login
admin:scoring_scoringpass_object                     POST    login  login  login    login  login   ok     login

admin:routing_routingrule_simple_history             GET     login  login  login    login  login   ok     login
admin:routing_routingrule_simple_history             POST    login  login  login    login  login   ok     login
admin:routing_slapolicy_simple_history               GET     login  login  login    login  login   ok     login
admin:routing_slapolicy_simple_history               POST    login  login  login    login  login   ok     login
admin:routing_slapolicy_changelist                   GET     login  login  login    login  login   ok     login
admin:routing_slapolicy_changelist                   POST    login  login  login    login  login   ok     login
admin:routing_slapolicy_add                          GET     login  login  login    login  login   403    login
admin:routing_slapolicy_add                          POST    login  login  login    login  login   403    login
admin:routing_slapolicy_history                      GET     login  login  login    login  login   ok     login
admin:routing_slapolicy_history                      POST    login  login  login    login  login   ok     login
admin:routing_slapolicy_delete                       GET     login  login  login    login  login   403    login
admin:routing_slapolicy_delete                       POST    login  login  login    login  login   403    login
admin:routing_slapolicy_change                       GET     login  login  login    login  login   ok     login
admin:routing_slapolicy_change                       POST    login  login  login    login  login   ok     login
admin:routing_slapolicy_object                       GET     login  login  login    login  login   ok     login
admin:routing_slapolicy_object                       POST    login  login  login    login  login   ok     login
admin:routing_stagesla_simple_history                GET     login  login  login    login  login   ok     login
admin:routing_stagesla_simple_history                POST    login  login  login    login  login   ok     login
admin:routing_stagesla_changelist                    GET     login  login  login    login  login   ok     login
admin:routing_stagesla_changelist                    POST    login  login  login    login  login   ok     login
admin:routing_stagesla_add                           GET     login  login  login    login  login   ok     login
admin:routing_stagesla_add                           POST    login  login  login    login  login   ok     login
admin:routing_stagesla_history                       GET     login  login  login    login  login   ok     login
admin:routing_stagesla_history                       POST    login  login  login    login  login   ok     login
admin:routing_stagesla_delete                        GET     login  login  login    login  login   403    login
admin:routing_stagesla_delete                        POST    login  login  login    login  login   403    login
admin:routing_stagesla_change                        GET     login  login  login    login  login   ok     login
admin:routing_stagesla_change                        POST    login  login  login    login  login   ok     login
admin:routing_stagesla_object                        GET     login  login  login    login  login   ok     login
admin:routing_stagesla_object                        POST    login  login  login    login  login   ok     login
admin:routing_selfservetemplate_simple_history       GET     login  login  login    login  login   ok     login
admin:routing_selfservetemplate_simple_history       POST    login  login  login    login  login   ok     login
admin:routing_selfservetemplate_changelist           GET     login  login  login    login  login   ok     login
admin:routing_selfservetemplate_changelist           POST    login  login  login    login  login   ok     login
admin:routing_selfservetemplate_add                  GET     login  login  login    login  login   ok     login
admin:routing_selfservetemplate_add                  POST    login  login  login    login  login   ok     login
admin:routing_selfservetemplate_history              GET     login  login  login    login  login   ok     login
admin:routing_selfservetemplate_history              POST    login  login  login    login  login   ok     login
admin:routing_selfservetemplate_delete               GET     login  login  login    login  login   ok     login
admin:routing_selfservetemplate_delete               POST    login  login  login    login  login   ok     login
admin:routing_selfservetemplate_change               GET     login  login  login    login  login   ok     login
admin:routing_selfservetemplate_change               POST    login  login  login    login  login   ok     login
admin:routing_selfservetemplate_object               GET     login  login  login    login  login   ok     login
admin:routing_selfservetemplate_object               POST    login  login  login    login  login   ok     login
admin:routing_selfservemessage_changelist            GET     login  login  login    login  login   ok     login
admin:routing_selfservemessage_changelist            POST    login  login  login    login  login   ok     login
admin:routing_selfservemessage_add                   GET     login  login  login    login  login   403    login
admin:routing_selfservemessage_add                   POST    login  login  login    login  login   403    login
admin:routing_selfservemessage_history               GET     login  login  login    login  login   ok     login
admin:routing_selfservemessage_history               POST    login  login  login    login  login   ok     login
admin:routing_selfservemessage_delete                GET     login  login  login    login  login   403    login
admin:routing_selfservemessage_delete                POST    login  login  login    login  login   403    login
admin:routing_selfservemessage_change                GET     login  login  login    login  login   ok     login
admin:routing_selfservemessage_change                POST    login  login  login    login  login   403    login
admin:routing_selfservemessage_object                GET     login  login  login    login  login   ok     login
admin:routing_selfservemessage_object                POST    login  login  login    login  login   ok     login
admin:routing_routingrule_changelist                 GET     login  login  login    login  login   ok     login
admin:routing_routingrule_changelist                 POST    login  login  login    login  login   ok     login
admin:routing_routingrule_add                        GET     login  login  login    login  login   ok     login
admin:routing_routingrule_add                        POST    login  login  login    login  login   ok     login
admin:routing_routingrule_history                    GET     login  login  login    login  login   ok     login
admin:routing_routingrule_history                    POST    login  login  login    login  login   ok     login
admin:routing_routingrule_delete                     GET     login  login  login    login  login   ok     login
admin:routing_routingrule_delete                     POST    login  login  login    login  login   ok     login
admin:routing_routingrule_change                     GET     login  login  login    login  login   ok     login
admin:routing_routingrule_change                     POST    login  login  login    login  login   ok     login
admin:routing_routingrule_object                     GET     login  login  login    login  login   ok     login
admin:routing_routingrule_object                     POST    login  login  login    login  login   ok     login

admin:routing_reasoncode_simple_history              GET     login  login  login    login  login   ok     login
admin:routing_reasoncode_simple_history              POST    login  login  login    login  login   ok     login
admin:routing_reasoncode_changelist                  GET     login  login  login    login  login   ok     login
admin:routing_reasoncode_changelist                  POST    login  login  login    login  login   ok     login
admin:routing_reasoncode_add                         GET     login  login  login    login  login   ok     login
admin:routing_reasoncode_add                         POST    login  login  login    login  login   ok     login
admin:routing_reasoncode_history                     GET     login  login  login    login  login   ok     login
admin:routing_reasoncode_history                     POST    login  login  login    login  login   ok     login
admin:routing_reasoncode_delete                      GET     login  login  login    login  login   ok     login
admin:routing_reasoncode_delete                      POST    login  login  login    login  login   ok     login
admin:routing_reasoncode_change                      GET     login  login  login    login  login   ok     login
admin:routing_reasoncode_change                      POST    login  login  login    login  login   ok     login
admin:routing_reasoncode_object                      GET     login  login  login    login  login   ok     login
admin:routing_reasoncode_object                      POST    login  login  login    login  login   ok     login

admin:routing_notification_changelist                GET     login  login  login    login  login   ok     login
admin:routing_notification_changelist                POST    login  login  login    login  login   ok     login
admin:routing_notification_add                       GET     login  login  login    login  login   ok     login
admin:routing_notification_add                       POST    login  login  login    login  login   ok     login
admin:routing_notification_history                   GET     login  login  login    login  login   ok     login
admin:routing_notification_history                   POST    login  login  login    login  login   ok     login
admin:routing_notification_delete                    GET     login  login  login    login  login   ok     login
admin:routing_notification_delete                    POST    login  login  login    login  login   ok     login
admin:routing_notification_change                    GET     login  login  login    login  login   ok     login
admin:routing_notification_change                    POST    login  login  login    login  login   ok     login
admin:routing_notification_object                    GET     login  login  login    login  login   ok     login
admin:routing_notification_object                    POST    login  login  login    login  login   ok     login

admin:routing_delivery_changelist                    GET     login  login  login    login  login   ok     login
admin:routing_delivery_changelist                    POST    login  login  login    login  login   ok     login
admin:routing_delivery_add                           GET     login  login  login    login  login   ok     login
admin:routing_delivery_add                           POST    login  login  login    login  login   ok     login
admin:routing_delivery_history                       GET     login  login  login    login  login   ok     login
admin:routing_delivery_history                       POST    login  login  login    login  login   ok     login
admin:routing_delivery_delete                        GET     login  login  login    login  login   ok     login
admin:routing_delivery_delete                        POST    login  login  login    login  login   ok     login
admin:routing_delivery_change                        GET     login  login  login    login  login   ok     login
admin:routing_delivery_change                        POST    login  login  login    login  login   ok     login
admin:routing_delivery_object                        GET     login  login  login    login  login   ok     login
admin:routing_delivery_object                        POST    login  login  login    login  login   ok     login

admin:routing_notificationpreference_changelist      GET     login  login  login    login  login   ok     login
admin:routing_notificationpreference_changelist      POST    login  login  login    login  login   ok     login
admin:routing_notificationpreference_add             GET     login  login  login    login  login   ok     login
admin:routing_notificationpreference_add             POST    login  login  login    login  login   ok     login
admin:routing_notificationpreference_history         GET     login  login  login    login  login   ok     login
admin:routing_notificationpreference_history         POST    login  login  login    login  login   ok     login
admin:routing_notificationpreference_delete          GET     login  login  login    login  login   ok     login
admin:routing_notificationpreference_delete          POST    login  login  login    login  login   ok     login
admin:routing_notificationpreference_change          GET     login  login  login    login  login   ok     login
admin:routing_notificationpreference_change          POST    login  login  login    login  login   ok     login
admin:routing_notificationpreference_object          GET     login  login  login    login  login   ok     login
admin:routing_notificationpreference_object          POST    login  login  login    login  login   ok     login
admin:routing_slackmessage_changelist                GET     login  login  login    login  login   ok     login
admin:routing_slackmessage_changelist                POST    login  login  login    login  login   ok     login
admin:routing_slackmessage_add                       GET     login  login  login    login  login   403    login
admin:routing_slackmessage_add                       POST    login  login  login    login  login   403    login
admin:routing_slackmessage_history                   GET     login  login  login    login  login   ok     login
admin:routing_slackmessage_history                   POST    login  login  login    login  login   ok     login
admin:routing_slackmessage_delete                    GET     login  login  login    login  login   ok     login
admin:routing_slackmessage_delete                    POST    login  login  login    login  login   ok     login
admin:routing_slackmessage_change                    GET     login  login  login    login  login   ok     login
admin:routing_slackmessage_change                    POST    login  login  login    login  login   403    login
admin:routing_slackmessage_object                    GET     login  login  login    login  login   ok     login
admin:routing_slackmessage_object                    POST    login  login  login    login  login   ok     login
admin:routing_slackinteraction_changelist            GET     login  login  login    login  login   ok     login
admin:routing_slackinteraction_changelist            POST    login  login  login    login  login   ok     login
admin:routing_slackinteraction_add                   GET     login  login  login    login  login   403    login
admin:routing_slackinteraction_add                   POST    login  login  login    login  login   403    login
admin:routing_slackinteraction_history               GET     login  login  login    login  login   ok     login
admin:routing_slackinteraction_history               POST    login  login  login    login  login   ok     login
admin:routing_slackinteraction_delete                GET     login  login  login    login  login   ok     login
admin:routing_slackinteraction_delete                POST    login  login  login    login  login   ok     login
admin:routing_slackinteraction_change                GET     login  login  login    login  login   ok     login
admin:routing_slackinteraction_change                POST    login  login  login    login  login   403    login
admin:routing_slackinteraction_object                GET     login  login  login    login  login   ok     login
admin:routing_slackinteraction_object                POST    login  login  login    login  login   ok     login
admin:routing_slackuser_changelist                   GET     login  login  login    login  login   ok     login
admin:routing_slackuser_changelist                   POST    login  login  login    login  login   ok     login
admin:routing_slackuser_add                          GET     login  login  login    login  login   403    login
admin:routing_slackuser_add                          POST    login  login  login    login  login   403    login
admin:routing_slackuser_history                      GET     login  login  login    login  login   ok     login
admin:routing_slackuser_history                      POST    login  login  login    login  login   ok     login
admin:routing_slackuser_delete                       GET     login  login  login    login  login   ok     login
admin:routing_slackuser_delete                       POST    login  login  login    login  login   ok     login
admin:routing_slackuser_change                       GET     login  login  login    login  login   ok     login
admin:routing_slackuser_change                       POST    login  login  login    login  login   403    login
admin:routing_slackuser_object                       GET     login  login  login    login  login   ok     login
admin:routing_slackuser_object                       POST    login  login  login    login  login   ok     login
admin:routing_webhookendpoint_changelist             GET     login  login  login    login  login   ok     login
admin:routing_webhookendpoint_changelist             POST    login  login  login    login  login   ok     login
admin:routing_webhookendpoint_add                    GET     login  login  login    login  login   ok     login
admin:routing_webhookendpoint_add                    POST    login  login  login    login  login   ok     login
admin:routing_webhookendpoint_history                GET     login  login  login    login  login   ok     login
admin:routing_webhookendpoint_history                POST    login  login  login    login  login   ok     login
admin:routing_webhookendpoint_delete                 GET     login  login  login    login  login   ok     login
admin:routing_webhookendpoint_delete                 POST    login  login  login    login  login   ok     login
admin:routing_webhookendpoint_change                 GET     login  login  login    login  login   ok     login
admin:routing_webhookendpoint_change                 POST    login  login  login    login  login   ok     login
admin:routing_webhookendpoint_object                 GET     login  login  login    login  login   ok     login
admin:routing_webhookendpoint_object                 POST    login  login  login    login  login   ok     login

admin:routing_webhookdelivery_changelist             GET     login  login  login    login  login   ok     login
admin:routing_webhookdelivery_changelist             POST    login  login  login    login  login   ok     login
admin:routing_webhookdelivery_add                    GET     login  login  login    login  login   ok     login
admin:routing_webhookdelivery_add                    POST    login  login  login    login  login   ok     login
admin:routing_webhookdelivery_history                GET     login  login  login    login  login   ok     login
admin:routing_webhookdelivery_history                POST    login  login  login    login  login   ok     login
admin:routing_webhookdelivery_delete                 GET     login  login  login    login  login   ok     login
admin:routing_webhookdelivery_delete                 POST    login  login  login    login  login   ok     login
admin:routing_webhookdelivery_change                 GET     login  login  login    login  login   ok     login
admin:routing_webhookdelivery_change                 POST    login  login  login    login  login   ok     login
admin:routing_webhookdelivery_object                 GET     login  login  login    login  login   ok     login
admin:routing_webhookdelivery_object                 POST    login  login  login    login  login   ok     login
admin:crm_crmconnection_simple_history               GET     login  login  login    login  login   ok     login
admin:crm_crmconnection_simple_history               POST    login  login  login    login  login   ok     login
admin:crm_crmconnection_changelist                   GET     login  login  login    login  login   ok     login
admin:crm_crmconnection_changelist                   POST    login  login  login    login  login   ok     login
admin:crm_crmconnection_add                          GET     login  login  login    login  login   ok     login
admin:crm_crmconnection_add                          POST    login  login  login    login  login   ok     login
admin:crm_crmconnection_history                      GET     login  login  login    login  login   ok     login
admin:crm_crmconnection_history                      POST    login  login  login    login  login   ok     login
admin:crm_crmconnection_delete                       GET     login  login  login    login  login   ok     login
admin:crm_crmconnection_delete                       POST    login  login  login    login  login   403    login
admin:crm_crmconnection_change                       GET     login  login  login    login  login   ok     login
admin:crm_crmconnection_change                       POST    login  login  login    login  login   ok     login
admin:crm_crmconnection_object                       GET     login  login  login    login  login   ok     login
admin:crm_crmconnection_object                       POST    login  login  login    login  login   ok     login
admin:crm_crmsyncrun_changelist                      GET     login  login  login    login  login   ok     login
admin:crm_crmsyncrun_changelist                      POST    login  login  login    login  login   ok     login
admin:crm_crmsyncrun_add                             GET     login  login  login    login  login   403    login
admin:crm_crmsyncrun_add                             POST    login  login  login    login  login   403    login
admin:crm_crmsyncrun_history                         GET     login  login  login    login  login   ok     login
admin:crm_crmsyncrun_history                         POST    login  login  login    login  login   ok     login
admin:crm_crmsyncrun_delete                          GET     login  login  login    login  login   403    login
admin:crm_crmsyncrun_delete                          POST    login  login  login    login  login   403    login
admin:crm_crmsyncrun_change                          GET     login  login  login    login  login   ok     login
admin:crm_crmsyncrun_change                          POST    login  login  login    login  login   403    login
admin:crm_crmsyncrun_object                          GET     login  login  login    login  login   ok     login
admin:crm_crmsyncrun_object                          POST    login  login  login    login  login   ok     login
admin:crm_crmreject_changelist                       GET     login  login  login    login  login   ok     login
admin:crm_crmreject_changelist                       POST    login  login  login    login  login   ok     login
admin:crm_crmreject_add                              GET     login  login  login    login  login   403    login
admin:crm_crmreject_add                              POST    login  login  login    login  login   403    login
admin:crm_crmreject_history                          GET     login  login  login    login  login   ok     login
admin:crm_crmreject_history                          POST    login  login  login    login  login   ok     login
admin:crm_crmreject_delete                           GET     login  login  login    login  login   403    login
admin:crm_crmreject_delete                           POST    login  login  login    login  login   403    login
admin:crm_crmreject_change                           GET     login  login  login    login  login   ok     login
admin:crm_crmreject_change                           POST    login  login  login    login  login   403    login
admin:crm_crmreject_object                           GET     login  login  login    login  login   ok     login
admin:crm_crmreject_object                           POST    login  login  login    login  login   ok     login
admin:expansion_sourcerun_add                        GET     login  login  login    login  login   403    login
admin:expansion_sourcerun_add                        POST    login  login  login    login  login   403    login
admin:expansion_sourcerun_change                     GET     login  login  login    login  login   ok     login
admin:expansion_sourcerun_change                     POST    login  login  login    login  login   403    login
admin:expansion_sourcerun_changelist                 GET     login  login  login    login  login   ok     login
admin:expansion_sourcerun_changelist                 POST    login  login  login    login  login   ok     login
admin:expansion_sourcerun_delete                     GET     login  login  login    login  login   403    login
admin:expansion_sourcerun_delete                     POST    login  login  login    login  login   403    login
admin:expansion_sourcerun_history                    GET     login  login  login    login  login   ok     login
admin:expansion_sourcerun_history                    POST    login  login  login    login  login   ok     login
admin:expansion_sourcerun_object                     GET     login  login  login    login  login   ok     login
admin:expansion_sourcerun_object                     POST    login  login  login    login  login   ok     login
admin:expansion_warehousesource_add                  GET     login  login  login    login  login   ok     login
admin:expansion_warehousesource_add                  POST    login  login  login    login  login   ok     login
admin:expansion_warehousesource_change               GET     login  login  login    login  login   ok     login
admin:expansion_warehousesource_change               POST    login  login  login    login  login   ok     login
admin:expansion_warehousesource_changelist           GET     login  login  login    login  login   ok     login
admin:expansion_warehousesource_changelist           POST    login  login  login    login  login   ok     login
admin:expansion_warehousesource_delete               GET     login  login  login    login  login   403    login
admin:expansion_warehousesource_delete               POST    login  login  login    login  login   403    login
admin:expansion_warehousesource_history              GET     login  login  login    login  login   ok     login
admin:expansion_warehousesource_history              POST    login  login  login    login  login   ok     login
admin:expansion_warehousesource_object               GET     login  login  login    login  login   ok     login
admin:expansion_warehousesource_object               POST    login  login  login    login  login   ok     login
admin:expansion_warehousesource_simple_history       GET     login  login  login    login  login   ok     login
admin:expansion_warehousesource_simple_history       POST    login  login  login    login  login   ok     login
admin:crm_crmlink_changelist                         GET     login  login  login    login  login   ok     login
admin:crm_crmlink_changelist                         POST    login  login  login    login  login   ok     login
admin:crm_crmlink_add                                GET     login  login  login    login  login   403    login
admin:crm_crmlink_add                                POST    login  login  login    login  login   403    login
admin:crm_crmlink_history                            GET     login  login  login    login  login   ok     login
admin:crm_crmlink_history                            POST    login  login  login    login  login   ok     login
admin:crm_crmlink_delete                             GET     login  login  login    login  login   403    login
admin:crm_crmlink_delete                             POST    login  login  login    login  login   403    login
admin:crm_crmlink_change                             GET     login  login  login    login  login   ok     login
admin:crm_crmlink_change                             POST    login  login  login    login  login   403    login
admin:crm_crmlink_object                             GET     login  login  login    login  login   ok     login
admin:crm_crmlink_object                             POST    login  login  login    login  login   ok     login

admin:app_list                                       GET     login  login  login    login  login   ok     login
admin:app_list                                       POST    login  login  login    login  login   ok     login
admin:catch_all                                      GET     login  login  login    login  login   404    login
admin:catch_all                                      POST    login  login  login    login  login   404    login

login                                                GET     ok     ok     ok       ok     ok      ok     ok
login                                                POST    ok     ok     ok       ok     ok      ok     ok

logout                                               GET     405    405    405      405    405     405    405
logout                                               POST    ok     ok     ok       ok     ok      ok     ok

api-schema                                           GET     ok     ok     ok       ok     ok      ok     ok
api-schema                                           POST    405    405    405      405    405     405    405
api-schema                                           PUT     405    405    405      405    405     405    405
api-schema                                           PATCH   405    405    405      405    405     405    405
api-schema                                           DELETE  405    405    405      405    405     405    405
api-docs                                             GET     ok     ok     ok       ok     ok      ok     ok
api-docs                                             POST    405    405    405      405    405     405    405
api-docs                                             PUT     405    405    405      405    405     405    405
api-docs                                             PATCH   405    405    405      405    405     405    405
api-docs                                             DELETE  405    405    405      405    405     405    405
api-import                                           GET     401    403    403      403    403     405    403
api-import                                           POST    401    403    403      403    403     400    403
api-import                                           PUT     401    403    403      403    403     405    403
api-import                                           PATCH   401    403    403      403    403     405    403
api-import                                           DELETE  401    403    403      403    403     405    403
api-events                                           GET     401    403    403      403    403     405    403
api-events                                           POST    401    403    403      403    403     ok     403
api-events                                           PUT     401    403    403      403    403     405    403
api-events                                           PATCH   401    403    403      403    403     405    403
api-events                                           DELETE  401    403    403      403    403     405    403

eql-list                                             GET     401    ok     ok       ok     ok      ok     ok
eql-list                                             POST    401    405    405      405    405     405    405
eql-list                                             PUT     401    405    405      405    405     405    405
eql-list                                             PATCH   401    405    405      405    405     405    405
eql-list                                             DELETE  401    405    405      405    405     405    405
eql-detail                                           GET     401    ok     404      ok     ok      ok     ok
eql-detail                                           POST    401    405    405      405    405     405    405
eql-detail                                           PUT     401    405    405      405    405     405    405
eql-detail                                           PATCH   401    405    405      405    405     405    405
eql-detail                                           DELETE  401    405    405      405    405     405    405
eql-events                                           GET     401    405    405      405    405     405    405
eql-events                                           POST    401    ok     404      ok     ok      ok     403
eql-events                                           PUT     401    405    405      405    405     405    405
eql-events                                           PATCH   401    405    405      405    405     405    405
eql-events                                           DELETE  401    405    405      405    405     405    405

attribution-list                                     GET     401    ok     ok       ok     ok      ok     ok
attribution-list                                     POST    401    403    403      403    403     405    403
attribution-list                                     PUT     401    403    403      403    403     405    403
attribution-list                                     PATCH   401    403    403      403    403     405    403
attribution-list                                     DELETE  401    403    403      403    403     405    403
attribution-detail                                   GET     401    ok     404      404    ok      ok     ok
attribution-detail                                   POST    401    403    403      403    403     405    403
attribution-detail                                   PUT     401    403    403      403    403     405    403
attribution-detail                                   PATCH   401    403    403      403    403     405    403
attribution-detail                                   DELETE  401    403    403      403    403     405    403
attribution-correct                                  GET     401    405    405      405    405     405    405
attribution-correct                                  POST    401    403    403      403    403     ok     403
attribution-correct                                  PUT     401    403    403      403    403     405    403
attribution-correct                                  PATCH   401    403    403      403    403     405    403
attribution-correct                                  DELETE  401    403    403      403    403     405    403

finance-attribution                                  GET     login  403    403      403    ok      ok     ok
finance-attribution                                  POST    login  405    405      405    405     405    405
finance-attribution-csv                              GET     login  403    403      403    ok      ok     ok
finance-attribution-csv                              POST    login  405    405      405    405     405    405
finance-attribution-head                             GET     login  403    403      403    ok      ok     ok
finance-attribution-head                             POST    login  405    405      405    405     405    405
finance-attribution-eql-pick                         GET     login  403    403      403    ok      ok     ok
finance-attribution-eql-pick                         POST    login  405    405      405    405     405    405
finance-attribution-eql                              GET     login  403    403      403    ok      ok     ok
finance-attribution-eql                              POST    login  405    405      405    405     405    405
finance-changes                                      GET     login  403    403      403    ok      ok     ok
finance-changes                                      POST    login  405    405      405    405     405    405

reports-coverage                                     GET     login  403    403      403    ok      ok     ok
reports-coverage                                     POST    login  405    405      405    405     405    405
reports-coverage-untouched-csv                       GET     login  403    403      403    ok      ok     ok
reports-coverage-untouched-csv                       POST    login  405    405      405    405     405    405
reports-signals                                      GET     login  403    403      403    ok      ok     ok
reports-signals                                      POST    login  405    405      405    405     405    405
reports-kpis                                         GET     login  403    403      403    ok      ok     ok
reports-kpis                                         POST    login  405    405      405    405     405    405

backtest-list                                        GET     login  403    403      403    403     ok     403
backtest-list                                        POST    login  403    403      403    403     422    403
backtest-compare                                     GET     login  403    403      403    403     400    403
backtest-compare                                     POST    login  403    403      403    403     405    403
backtest                                             GET     login  403    403      403    403     ok     403
backtest                                             POST    login  403    403      403    403     405    403
backtest-progress                                    GET     login  403    403      403    403     ok     403
backtest-progress                                    POST    login  403    403      403    403     405    403
backtest-progress                                    hx:GET  login  403    403      403    403     ok     403
backtest-progress                                    hx:POST login  403    403      403    403     405    403
backtest-signal-preview-new                          GET     login  403    403      403    403     405    403
backtest-signal-preview-new                          POST    login  403    403      403    403     422    403
backtest-signal-preview                              GET     login  403    403      403    403     405    403
backtest-signal-preview                              POST    login  403    403      403    403     422    403
backtest-gate-preview-new                            GET     login  403    403      403    403     405    403
backtest-gate-preview-new                            POST    login  403    403      403    403     422    403
backtest-gate-preview                                GET     login  403    403      403    403     405    403
backtest-gate-preview                                POST    login  403    403      403    403     422    403
backtest-policy-preview                              GET     login  403    403      403    403     405    403
backtest-policy-preview                              POST    login  403    403      403    403     422    403
backtest-routing-preview-new                         GET     login  403    403      403    403     405    403
backtest-routing-preview-new                         POST    login  403    403      403    403     422    403
backtest-routing-preview                             GET     login  403    403      403    403     405    403
backtest-routing-preview                             POST    login  403    403      403    403     422    403

inbox                                                GET     login  ok     ok       ok     ok      ok     ok
inbox                                                POST    login  405    405      405    405     405    405
inbox                                                hx:GET  login  ok     ok       ok     ok      ok     ok
inbox                                                hx:POST login  405    405      405    405     405    405

eql                                                  GET     login  ok     404      ok     ok      ok     ok
eql                                                  POST    login  405    405      405    405     405    405
eql                                                  hx:GET  login  ok     404      ok     ok      ok     ok
eql                                                  hx:POST login  405    405      405    405     405    405

eql_event                                            GET     login  405    405      405    405     405    405
eql_event                                            POST    login  ok     404      ok     ok      ok     403
eql_event                                            hx:GET  login  405    405      405    405     405    405
eql_event                                            hx:POST login  ok     404      ok     ok      ok     403
eql_crm_create                                       GET     login  405    405      405    405     405    405
eql_crm_create                                       POST    login  422    404      422    422     422    403
eql_crm_create                                       hx:GET  login  405    405      405    405     405    405
eql_crm_create                                       hx:POST login  422    404      422    422     422    403

reviews                                              GET     login  ok     ok       ok     ok      ok     ok
reviews                                              POST    login  405    405      405    405     405    405

notifications                                        GET     login  ok     ok       ok     ok      ok     ok
notifications                                        POST    login  405    405      405    405     405    405
notifications                                        hx:GET  login  ok     ok       ok     ok      ok     ok
notifications                                        hx:POST login  405    405      405    405     405    405

notifications_read                                   GET     login  405    405      405    405     405    405
notifications_read                                   POST    login  ok     ok       ok     ok      ok     ok
notifications_read                                   hx:GET  login  405    405      405    405     405    405
notifications_read                                   hx:POST login  ok     ok       ok     ok      ok     ok

notification_settings                                GET     login  ok     ok       ok     ok      ok     ok
notification_settings                                POST    login  ok     ok       ok     ok      ok     ok

# Slack signs its requests (no session, no CSRF token); without SLACK_SIGNING_SECRET the app is not connected.
slack-interactions                                   GET     405    405    405      405    405     405    405
slack-interactions                                   POST    403    403    403      403    403     403    403
"""
# fmt: on
