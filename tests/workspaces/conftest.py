import pytest

from workspaces.models import Profile


@pytest.fixture
def small(db):
    return Profile.objects.create(name="Small", cpu="0.5", memory_bytes=512 * 2**20, disk_bytes=2**30)


@pytest.fixture
def research_only(db, other_team):
    profile = Profile.objects.create(name="Research GPU", cpu="4", memory_bytes=16 * 2**30, gpus=1, gpu_type="h100", all_teams=False)
    profile.teams.set([other_team])
    return profile
