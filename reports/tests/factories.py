import factory

from campaign.tests.factories import CampaignFactory, UserFactory
from reports.models import Export


class ExportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Export

    kind = Export.Kind.RESIDENTS
    campaign = factory.SubFactory(CampaignFactory)
    parameters = factory.LazyFunction(dict)
    requested_by = factory.SubFactory(UserFactory)
    status = Export.Status.PENDING
