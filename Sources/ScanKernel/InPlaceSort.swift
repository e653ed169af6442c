// Sound because every index lies within the `low...high` range of the buffer being sorted: the partition
// scans stop at the pivot's value, which stays inside the range, and each recursion gets a slice of it.
// Callers pass an array's own buffer (`withUnsafeMutableBufferPointer`), valid for the call.
/// Sorts in place (the standard sort's merge buffer would take half as much memory again): quicksort
/// (middle pivot; keyed hashes are random, so no input is adversarial), insertion sort for short runs,
/// recursing into the shorter side only.
@inlinable public func sortInPlace<Element: Comparable>(_ buffer: UnsafeMutableBufferPointer<Element>) {
    var low = 0
    var high = buffer.count - 1
    while high - low > 16 {
        let pivot = buffer[low + (high - low) / 2]
        var left = low
        var right = high
        while left <= right {
            while buffer[left] < pivot { left += 1 }
            while buffer[right] > pivot { right -= 1 }
            if left <= right {
                buffer.swapAt(left, right)
                left += 1
                right -= 1
            }
        }
        if right - low < high - left {
            if right > low { sortInPlace(UnsafeMutableBufferPointer(rebasing: buffer[low...right])) }
            low = left
        } else {
            if high > left { sortInPlace(UnsafeMutableBufferPointer(rebasing: buffer[left...high])) }
            high = right
        }
    }
    guard high > low else { return }
    for index in (low + 1)...high {
        let value = buffer[index]
        var position = index
        while position > low && buffer[position - 1] > value {
            buffer[position] = buffer[position - 1]
            position -= 1
        }
        buffer[position] = value
    }
}
