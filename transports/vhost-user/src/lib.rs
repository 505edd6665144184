//! vhost-user backend and the arcbox-virtiofsd binary.
