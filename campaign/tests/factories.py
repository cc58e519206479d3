import datetime

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from campaign.models import Campaign, Village
from campaign.roles import ensure_role_groups
from campaign.services import user_assign_role
from sites.models import Site


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"测试接种活动{n}")
    vaccine = "新冠病毒灭活疫苗"
    min_age = 18
    max_age = 59
    admit_healthy_over_max_age = True
    doses = 2
    dose_intervals = factory.LazyAttribute(lambda c: [14] * (c.doses - 1))
    start_date = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=37))
    end_date = factory.LazyAttribute(lambda c: c.start_date + datetime.timedelta(days=82))
    first_dose_deadline = factory.LazyAttribute(lambda c: c.end_date - datetime.timedelta(days=15))
    target_people = 72000
    daily_floor_per_site = 600
    is_open = True


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"接种点{n}")
    short_name = factory.LazyAttribute(lambda s: s.name[:20])
    address = "梅山镇"
    daily_capacity = 800


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village

    site = factory.SubFactory(SiteFactory)
    campaign = factory.SelfAttribute("site.campaign")
    name = factory.Sequence(lambda n: f"测试{n}村")
    kind = Village.Kind.VILLAGE
    population = 8000
    quota = 3200


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "测试用户"
    password = factory.django.Password("pass-for-tests")


def user_with_role(role, *, village=None, site=None, **kwargs) -> User:
    ensure_role_groups()
    user = UserFactory(**kwargs)
    user_assign_role(user=user, role=role, village=village, site=site)
    return user
