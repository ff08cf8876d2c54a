from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "routing.crm"
    label = "crm"
    verbose_name = "CRM sync"
