"""The Playground: paint data, build a network, press play and watch it learn."""
