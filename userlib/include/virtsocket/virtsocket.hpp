// virtsocket user library: everything.
#pragma once

#include <virtsocket/address.hpp>
#include <virtsocket/family.hpp>
#include <virtsocket/result.hpp>
#include <virtsocket/socket.hpp>
#include <virtsocket/virt.h>
