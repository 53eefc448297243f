"""Domain services: the OpenIM behaviour behind the REST routes and the gateway requests.

They talk to the Store and Bus ports only, and get their collaborators in their constructors
(openim.assembly builds them for a process).
"""
