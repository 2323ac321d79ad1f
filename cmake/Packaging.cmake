# Installation layout and Debian packages (docs/packaging.md).
#
#   cmake --build build --target package     # build/writeback-{agent,controller}_<version>-1_<arch>.deb
#
# Two install components, one package each:
#   agent       -> writeback-agent:      /usr/bin/writeback-agent, its systemd unit,
#                                        /etc/writeback/agent.conf (conffile)
#   controller  -> writeback-controller: /usr/bin/writeback-controller, /usr/bin/writebackctl,
#                                        its systemd unit, /etc/writeback/controller.conf (conffile)
# The maintainer scripts (deploy/debian/*.in) create the system user and the
# state directory; the units (deploy/systemd/) run each binary as that user.
include(GNUInstallDirs)

# The units and the packages' maintainer scripts name /usr/bin and /etc/writeback:
# the packages install under /usr whatever CMAKE_INSTALL_PREFIX is.
set(WRITEBACK_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE STRING
    "Where the packages install the systemd units (Debian 12: /lib/systemd/system).")
set(WRITEBACK_CONF_DIR "/etc/writeback")
set(WRITEBACK_PACKAGE_MAINTAINER "writeback maintainers <writeback@example.com>" CACHE STRING
    "Maintainer field of the Debian packages.")
set(WRITEBACK_HOMEPAGE "https://writeback.example.com" CACHE STRING
    "Homepage field of the Debian packages.")

# --- install rules ------------------------------------------------------------
install(TARGETS writeback-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/writeback-agent.service
        DESTINATION ${WRITEBACK_SYSTEMD_UNIT_DIR} COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/examples/packaged/agent.conf
        DESTINATION ${WRITEBACK_CONF_DIR} COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/docs/packaging.md
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/writeback-agent COMPONENT agent)

install(TARGETS writeback-controller writebackctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT controller)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/writeback-controller.service
        DESTINATION ${WRITEBACK_SYSTEMD_UNIT_DIR} COMPONENT controller)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/examples/packaged/controller.conf
        DESTINATION ${WRITEBACK_CONF_DIR} COMPONENT controller)
install(FILES ${PROJECT_SOURCE_DIR}/docs/packaging.md
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/writeback-controller COMPONENT controller)

# --- maintainer scripts and conffiles -------------------------------------------
# wb_debian_control(COMPONENT PACKAGE USER STATE_DIR PURGE_STATE PURGE_NOTE CONFFILE)
# writes postinst, prerm, postrm and conffiles for one package into
# ${PROJECT_BINARY_DIR}/packaging/<component>/ and hands them to CPack.
function(wb_debian_control component package user state_dir purge_state purge_note conffile)
  set(dir ${PROJECT_BINARY_DIR}/packaging/${component})
  set(PACKAGE ${package})
  set(SERVICE ${package})
  set(USER ${user})
  set(STATE_DIR ${state_dir})
  set(PURGE_STATE ${purge_state})
  set(PURGE_NOTE ${purge_note})
  foreach(script postinst prerm postrm)
    configure_file(${PROJECT_SOURCE_DIR}/deploy/debian/${script}.in ${dir}/${script} @ONLY
                   FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                    WORLD_READ WORLD_EXECUTE)
  endforeach()
  file(WRITE ${dir}/conffiles "${conffile}\n")
  string(TOUPPER ${component} c)
  set(CPACK_DEBIAN_${c}_PACKAGE_CONTROL_EXTRA
      "${dir}/postinst;${dir}/prerm;${dir}/postrm;${dir}/conffiles" PARENT_SCOPE)
endfunction()

wb_debian_control(agent writeback-agent writeback-agent /var/lib/writeback-agent yes
  "removes /var/lib/writeback-agent (the agent's key and certificates: revoke the agent with writebackctl agent revoke)."
  ${WRITEBACK_CONF_DIR}/agent.conf)
wb_debian_control(controller writeback-controller writeback /var/lib/writeback no
  "keeps /var/lib/writeback (the store, the CA's key, the admin tokens): delete it yourself."
  ${WRITEBACK_CONF_DIR}/controller.conf)

# --- CPack ----------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME writeback)
set(CPACK_PACKAGE_VENDOR writeback)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${WRITEBACK_PACKAGE_MAINTAINER})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)              # no debug info, and with it no build paths
set(CPACK_COMPONENTS_ALL agent controller)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING IGNORE)  # one package per component

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${WRITEBACK_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE ${WRITEBACK_HOMEPAGE})
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # dpkg-shlibdeps (dpkg-dev) computes the library Depends
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME writeback-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS adduser)
# The Kerberos (keytab) bind loads the SASL GSSAPI plugin at run time.
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS libsasl2-modules-gssapi-mit)
set(CPACK_COMPONENT_AGENT_DESCRIPTION
"writeback agent: applies cloud Exchange attribute changes to Active Directory
 The agent runs on a domain-joined Linux server, dials out to the writeback
 controller over mutual TLS, and writes each cloud-side change of Exchange
 attributes (proxyAddresses, mail, extension attributes, recipient type) to
 Active Directory as one compare-and-swap LDAP modify, under its own local
 policy. Binds with a Kerberos keytab (SASL GSSAPI) or a simple bind.
 .
 Installs the writeback-agent.service unit (user writeback-agent, state in
 /var/lib/writeback-agent) without starting it.")

set(CPACK_DEBIAN_CONTROLLER_PACKAGE_NAME writeback-controller)
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_DEPENDS adduser)
set(CPACK_COMPONENT_CONTROLLER_DESCRIPTION
"writeback controller and writebackctl: cloud side of Exchange attribute writeback
 The controller holds the desired Exchange attributes of every cloud-managed
 mailbox (SQLite store), streams attribute-change jobs to the writeback agents
 of each Active Directory forest, records every outcome, runs its own CA for
 agent enrollment and serves the authenticated Admin API that writebackctl,
 the operator's command line, uses.
 .
 Installs the writeback-controller.service unit (user writeback, state in
 /var/lib/writeback) without starting it.")

include(CPack)
