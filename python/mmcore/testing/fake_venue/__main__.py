"""``python -m mmcore.testing.fake_venue VENUE``: serve one fake venue until stdin closes (see
:mod:`mmcore.testing.fake_venue.process`)."""

from mmcore.testing.fake_venue.process import main

main()
