import factory

from accounts.choices import MembershipRole, TeamRole, UserKind
from accounts.models import AccountAssignment, Membership, Organisation, User

PASSWORD = "correct horse battery"  # every factory-made user logs in with it


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    kind = UserKind.CUSTOMER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    kind = UserKind.ACCOUNT_MANAGER


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Faker("company")
    customer_number = factory.Sequence(lambda n: f"C-{9000 + n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = MembershipRole.MEMBER


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountAssignment

    user = factory.SubFactory(StaffFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = TeamRole.PRIMARY_AM
